# Stage 'fmri': fMRI preprocessing (issue 4). Rules go inside `if is_activated("fmri"):`.
