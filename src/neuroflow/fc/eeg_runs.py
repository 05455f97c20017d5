"""Benchmark runs from EEG: the EEG stage's cleaned recordings (``*_desc-clean_eeg.fif``) as
runs of channel time series, band-passed and resampled as the benchmark's ``eeg`` settings
say (config ``fc.benchmarks.<id>.eeg``)."""

from __future__ import annotations

import warnings
from pathlib import Path

import mne
import numpy as np

from neuroflow.bids import entities_from_name, stem
from neuroflow.fc.data import Run, participant_labels


def _eeg_channels(raw, path, channels) -> list[str]:
    good = [raw.ch_names[i] for i in mne.pick_types(raw.info, eeg=True, exclude="bads")]
    if channels in (None, "all"):
        return good
    missing = [c for c in channels if c not in good]
    if missing:
        bad = [c for c in missing if c in raw.info["bads"]]
        raise ValueError(
            f"{path}: channel(s) {missing} of config key fc.benchmarks.<id>.eeg."
            f"channels are not good EEG channels of this recording"
            + (f" (marked bad: {bad})" if bad else "")
            + f"; it has {good}"
        )
    return list(channels)


def read_eeg_runs(
    paths,
    *,
    l_freq=None,
    h_freq=None,
    sfreq=None,
    channels="all",
    participants: str = "",
    label_column: str = "",
) -> tuple[list[Run], dict]:
    """Cleaned EEG recordings (FIF) as runs of channel time series, band-passed.

    Parameters
    ----------
    paths : list of path
        The EEG stage's ``*_desc-clean_eeg.fif`` files; subject and run come from the BIDS
        entities of the file name (``sub-01_ses-2_task-rest_run-2_desc-clean_eeg.fif`` ->
        subject ``01``, run ``ses-2_task-rest_run-2``).
    l_freq, h_freq : float or None
        Band-pass edges (Hz; MNE FIR, zero phase); None leaves that side open.
    sfreq : float or None
        Resample to this rate (Hz) after filtering; None keeps the recording's rate.
    channels : "all" or list of str
        ``all``: the EEG channels good in every recording (a channel marked bad in any
        recording is dropped from all of them, and said in the returned notes); a list:
        exactly these, each of which must be a good EEG channel of every recording.
    participants, label_column : str
        Optional BIDS participants.tsv and its column holding each subject's group label.

    Returns
    -------
    runs : list of Run
        ``data`` of shape (n_samples, n_channels) in volts; ``t_r`` = 1 / sfreq (s);
        ``volumes`` = sample indices kept (segments annotated ``BAD_*`` are left out, and
        windows never span them).
    notes : dict
        ``dropped_channels``: channels left out because a recording lacks them or marks
        them bad.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError(
            "config key fc.benchmarks.<id>.source eeg: the EEG stage has no "
            "recording (eeg.activate and its recordings)"
        )
    raws, common, dropped = _read_recordings(paths, channels)
    labels = participant_labels(participants, label_column)
    runs = [
        _eeg_run(path, raw, common, labels, l_freq=l_freq, h_freq=h_freq, sfreq=sfreq)
        for path, raw in zip(paths, raws)
    ]
    return runs, {"dropped_channels": dropped}


def _read_recordings(paths: list[Path], channels):
    """(raws, channels good in every recording, channels dropped) of the FIF files."""
    raws, per_file = [], []
    for path in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                raw = mne.io.read_raw_fif(path, preload=True, verbose="error")
        except Exception as exc:
            raise ValueError(f"{path}: cannot read the cleaned EEG (FIF): {exc}") from exc
        per_file.append(_eeg_channels(raw, path, channels))
        raws.append(raw)
    common = [c for c in per_file[0] if all(c in chans for chans in per_file[1:])]
    dropped = sorted({c for chans in per_file for c in chans} - set(common))
    if len(common) < 2:
        raise ValueError(
            f"fewer than 2 EEG channels are good in every recording ({common}); "
            "set fc.benchmarks.<id>.eeg.channels"
        )
    return raws, common, dropped


def _eeg_run(path: Path, raw, common: list[str], labels: dict, *, l_freq, h_freq, sfreq) -> Run:
    """One recording, its ``common`` channels band-passed and resampled, as a Run."""
    ents = entities_from_name(path.name)
    if not ents.get("sub"):
        raise ValueError(f"{path}: not a BIDS file name (no sub-<label>)")
    raw.pick(common)
    if l_freq is not None or h_freq is not None:
        raw.filter(l_freq, h_freq, method="fir", fir_design="firwin", phase="zero", verbose="error")
    if sfreq:
        raw.resample(float(sfreq), verbose="error")
    data, times = raw.get_data(reject_by_annotation="omit", return_times=True)
    volumes = np.round(times * raw.info["sfreq"]).astype(int)
    volumes = volumes if volumes.size < raw.n_times else None
    sub = ents["sub"]
    return Run(
        subject=sub,
        run=stem(ents, drop=("sub", "desc")) or path.stem,
        cohort="eeg",
        t_r=1.0 / raw.info["sfreq"],
        data=data.T,
        regions=common,
        volumes=volumes,
        source=str(path),
        label=labels.get(sub, ""),
    )
