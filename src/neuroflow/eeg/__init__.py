"""EEG preprocessing with MNE: recordings in, cleaned FIF, spectra, 1/f slope, connectivity out.

Modules
-------
io          readers for EDF/BDF, BrainVision, EEGLAB, FIF and BIDS; montages; the embedded
            spkit recording (checksum-verified pickle converted once to FIF)
simulate    seeded multi-subject simulator with ground truth (MNE sphere head model)
preprocess  resampling, filters, bad channels, re-referencing, ICA, epochs, rejection
features    PSD (Welch, multitaper), band power, specparam, sensor connectivity
inputs      which recordings a config describes (one per sub x ses x task x acq x run, the
            BIDS ones queried from bids_dir with pybids), checked before any job
pipeline    one file-level function per workflow rule
report      MNE Report per subject x session x task, group table and figures
methods     the methods paragraph of the report
"""
