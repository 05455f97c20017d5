# Stage 'eeg': EEG preprocessing (issue 5). Rules go inside `if is_activated("eeg"):`.
