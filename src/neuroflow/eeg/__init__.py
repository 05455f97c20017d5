"""EEG preprocessing with MNE: recordings in, cleaned FIF, spectra, 1/f slope, connectivity out.

Modules
-------
io          readers for EDF/BDF, BrainVision, EEGLAB, FIF and BIDS; montages; the embedded
            spkit recording (checksum-verified pickle converted once to FIF)
simulate    seeded multi-subject simulator with ground truth (MNE sphere head model)
preprocess  resampling, filters, bad channels, re-referencing, ICA, epochs, rejection
features    PSD (Welch, multitaper), band power, specparam, sensor connectivity
cohort      which subjects a config describes, and where their recordings are
pipeline    one file-level function per workflow rule
report      per-subject MNE Report, group table and figures
methods     the methods paragraph of the report
"""
