# Stage 'encoding': encoding models on GPU rules (issue 9). Rules go inside `if is_activated("encoding"):`.
