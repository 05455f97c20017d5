"""EEG preprocessing with MNE: recordings in, cleaned FIF, spectra, 1/f slope, connectivity out.

Modules
-------
io          readers for EDF/BDF, BrainVision, EEGLAB, FIF and BIDS; montages; the embedded
            spkit recording (checksum-verified pickle converted once to FIF)
simulate    seeded multi-subject simulator with ground truth (MNE sphere head model)
preprocess  resampling, filters, bad channels, re-referencing, epochs, rejection
ica         ICA fit, artifact-component labelling (EOG/ECG, ICLabel) and removal
features    PSD (Welch, multitaper), band power, specparam, sensor connectivity
inputs      which recordings a config describes (one per sub x ses x task x acq x run, the
            BIDS ones queried from bids_dir with pybids), checked before any job
pipeline    one file-level function per workflow rule
outputs     FIF saving, provenance attributes, the NetCDF datasets and band-power table
group       the group table, read from each recording's outputs
figures     per-recording and group figures
report      MNE Report per subject x session x task
methods     the methods paragraph of the report
"""
