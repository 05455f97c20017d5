"""Small inputs for tests and benchmarks of the EEG stage: the embedded recording, and
recordings written in the formats users have (EDF/BDF, BrainVision, EEGLAB, FIF, BIDS)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SPKIT_DATASET = "spkit_eeg16sec_artifact"


def fetch_spkit_pickle(root=None) -> Path:
    """Fetch and verify the spkit EEG pickle into ``<repo>/resources/data``; return its path."""
    from neuroflow.devtools import repo_root
    from neuroflow.resources import fetch_dataset, load_manifest

    root = Path(root or repo_root())
    manifest = load_manifest(root / "resources" / "datasets.yaml")
    return fetch_dataset(manifest, SPKIT_DATASET, root / "resources" / "data")[0]


def spkit_raw(root=None, key: str = "X_raw"):
    """The embedded Emotiv recording as an MNE Raw with colin27_1020 positions (volts)."""
    from neuroflow.eeg.io import apply_montage, load_spkit_pickle, spkit_to_raw

    path = fetch_spkit_pickle(root)
    raw = spkit_to_raw(load_spkit_pickle(path), key)
    apply_montage(raw, "colin27_1020", path)
    return raw


def noise_raw(
    ch_names=("Fp1", "Fz", "Cz", "Pz", "O1", "O2"),
    sfreq: float = 128.0,
    duration: float = 10.0,
    seed: int = 0,
    scale: float = 10e-6,
):
    """White-noise EEG (volts) with colin27_1020 positions, for I/O tests."""
    import mne

    from neuroflow.eeg.io import load_montage

    rng = np.random.default_rng(seed)
    info = mne.create_info(list(ch_names), sfreq, "eeg")
    raw = mne.io.RawArray(
        scale * rng.standard_normal((len(ch_names), int(duration * sfreq))), info, verbose="error"
    )
    known = [
        c for c in ch_names if c.lower() in {n.lower() for n in load_montage("colin27_1020", "x").ch_names}
    ]
    if len(known) == len(ch_names):
        raw.set_montage(load_montage("colin27_1020", "x"), verbose="error")
    raw.set_meas_date(None)
    return raw


def write_recording(raw, path, fmt: str | None = None) -> Path:
    """Write `raw` as EDF, BDF, BrainVision (.vhdr), EEGLAB (.set) or FIF, by extension.

    EDF/BDF/BrainVision/EEGLAB need edfio, pybv and eeglabio (test extras).
    """
    import mne

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".fif":
        raw.save(path, overwrite=True, verbose="error")
    else:
        mne.export.export_raw(path, raw, fmt=fmt or "auto", overwrite=True, verbose="error")
    return path
