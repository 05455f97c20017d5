# Stage 'activity': neural-activity homogenization and the structure-function link (issue 3). Rules go inside `if is_activated("activity"):`.
