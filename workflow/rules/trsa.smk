# Stage 'trsa': topological RSA (issue 8). Rules go inside `if is_activated("trsa"):`.
