# Stage 'fc': functional-connectivity benchmark and core-set selection (issue 6). Rules go inside `if is_activated("fc"):`.
