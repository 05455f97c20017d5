"""Preprocessing steps, each switched and parametrized by the ``eeg.preprocessing`` config.

Order (MNE-BIDS-Pipeline style): band-pass and notch filters, resampling, bad-channel
detection and interpolation, re-referencing, ICA with automatic component labelling,
epoching, epoch rejection. Every function takes and returns MNE objects in volts; the
tables they return are what the rule writes next to the FIF files.
"""

from __future__ import annotations

import copy

import mne
import numpy as np
import pandas as pd

from neuroflow.config import fill_defaults, stage_schema
from neuroflow.eeg.ica import ica_step
from neuroflow.eeg.io import EEGInputError

#: The ``eeg.preprocessing`` defaults, read from workflow/schemas/eeg.schema.yaml (the one
#: place they are written; the workflow fills the same values into its config).
DEFAULTS = fill_defaults({}, stage_schema("eeg"))["preprocessing"]
UV = 1e-6


def with_defaults(cfg: dict | None) -> dict:
    """`cfg` (the ``eeg.preprocessing`` section) completed with :data:`DEFAULTS`."""
    out = copy.deepcopy(DEFAULTS)
    for step, params in (cfg or {}).items():
        if step not in out:
            raise ValueError(
                f"config key eeg.preprocessing.{step}: unknown step; expected one of {sorted(out)}"
            )
        out[step].update(params or {})
    return out


def filter_raw(raw, l_freq, h_freq, method: str = "fir", phase: str = "zero"):
    """Band-pass (or high-/low-pass when one edge is None) all data channels in place.

    Parameters are those of :meth:`mne.io.Raw.filter` (FIR, firwin design, Hamming window,
    automatic transition bandwidths and filter length). Returns `raw`.
    """
    nyq = raw.info["sfreq"] / 2.0
    if h_freq is not None and h_freq >= nyq:
        h_freq = None  # nothing to low-pass below the Nyquist frequency
    return raw.filter(l_freq, h_freq, picks="data", method=method, phase=phase, verbose="error")


def notch_raw(raw, freqs):
    """Notch-filter `freqs` (Hz) and their listed harmonics below Nyquist; returns kept freqs."""
    keep = [float(f) for f in freqs if f < raw.info["sfreq"] / 2.0 - 1.0]
    if keep:
        raw.notch_filter(keep, picks="data", verbose="error")
    return keep


def robust_amplitude(data: np.ndarray) -> np.ndarray:
    """Per-channel robust standard deviation (IQR / 1.349), insensitive to sparse blinks.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
    """
    q75, q25 = np.percentile(data, [75, 25], axis=1)
    return (q75 - q25) / 1.349


def detect_bad_channels(
    raw,
    methods=("flat", "deviation"),
    flat_threshold: float = 1.0,
    deviation_z: float = 5.0,
    lof_threshold: float = 1.5,
) -> pd.DataFrame:
    """Flag bad EEG channels.

    Criteria
    --------
    flat : robust amplitude below `flat_threshold` microvolts (dead or disconnected).
    deviation : robust z-score of the robust amplitude over channels above `deviation_z`
        in absolute value (PREP's deviation criterion, Bigdely-Shamlo et al. 2015, on the
        IQR-based amplitude so that blinks do not flag frontal channels).
    lof : MNE's local-outlier-factor detector (:func:`mne.preprocessing.find_bad_channels_lof`).

    Returns
    -------
    DataFrame
        One row per EEG channel: ``name``, ``amplitude_uV``, ``deviation_z``, ``lof_score``,
        ``bad`` (bool) and ``reason`` (criteria joined by ``+``; channels already marked bad
        in the recording say ``marked in file``).
    """
    picks = mne.pick_types(raw.info, eeg=True, exclude=())
    names = [raw.ch_names[i] for i in picks]
    amp = robust_amplitude(raw.get_data(picks=picks))
    med = np.median(amp)
    mad = 1.4826 * np.median(np.abs(amp - med)) or np.finfo(float).tiny
    z = (amp - med) / mad
    reasons = {n: [] for n in names}
    for n in raw.info["bads"]:
        if n in reasons:
            reasons[n].append("marked in file")
    if "flat" in methods:
        for n, a in zip(names, amp):
            if a < flat_threshold * UV:
                reasons[n].append("flat")
    if "deviation" in methods:
        for n, zz in zip(names, z):
            if abs(zz) > deviation_z:
                reasons[n].append("deviation")
    lof = np.full(len(names), np.nan)
    if "lof" in methods and len(names) > 3:
        probe = raw.copy().pick(picks)
        probe.info["bads"] = []
        bads, scores = mne.preprocessing.find_bad_channels_lof(
            probe,
            n_neighbors=min(20, len(names) - 1),
            threshold=lof_threshold,
            return_scores=True,
            verbose="error",
        )
        lof = np.asarray(scores, float)
        for n in bads:
            reasons[n].append("lof")
    return pd.DataFrame(
        {
            "name": names,
            "amplitude_uV": amp / UV,
            "deviation_z": z,
            "lof_score": lof,
            "bad": [bool(reasons[n]) for n in names],
            "reason": ["+".join(reasons[n]) or "n/a" for n in names],
        }
    )


def interpolate_bads(raw, bads, recording):
    """Spherical-spline interpolation of `bads` (needs channel positions)."""
    if not bads:
        return raw
    locs = np.array(
        [
            raw.info["chs"][raw.ch_names.index(n)]["loc"][:3]
            for n in raw.ch_names
            if n not in bads and raw.get_channel_types([n])[0] == "eeg"
        ]
    )
    if not np.isfinite(locs).all() or not np.abs(locs).sum(axis=1).all():
        raise EEGInputError(
            f"{recording}: cannot interpolate bad channels {list(bads)}: "
            "some EEG channels have no position (set a montage)"
        )
    raw.info["bads"] = sorted(set(raw.info["bads"]) | set(bads))
    raw.interpolate_bads(reset_bads=True, mode="accurate", verbose="error")
    return raw


def _sphere_forward(info):
    sphere = mne.make_sphere_model("auto", "auto", info, verbose="error")
    src = mne.setup_volume_source_space(sphere=sphere, pos=20.0, verbose="error")
    return mne.make_forward_solution(
        info, trans=None, src=src, bem=sphere, eeg=True, meg=False, verbose="error"
    )


def rereference(raw, kind: str = "average", channels=(), recording=""):
    """Re-reference EEG: ``average``, ``rest`` (REST, Yao 2001, sphere head model),
    ``channels`` (the mean of `channels`) or ``none``."""
    if kind == "none":
        return raw
    if kind == "average":
        raw.set_eeg_reference("average", projection=False, verbose="error")
    elif kind == "rest":
        raw.set_eeg_reference("REST", forward=_sphere_forward(raw.info), verbose="error")
    elif kind == "channels":
        missing = [c for c in channels if c not in raw.ch_names]
        if not channels or missing:
            raise EEGInputError(
                f"{recording}: reference channel(s) {missing or '[]'} not in the "
                f"recording (channels: {raw.ch_names})"
            )
        raw.set_eeg_reference(list(channels), projection=False, verbose="error")
    else:
        raise ValueError(f"config key eeg.preprocessing.reference.kind: unknown {kind!r}")
    return raw


def make_epochs(
    raw,
    recording,
    kind: str = "fixed",
    length: float = 2.0,
    overlap: float = 0.0,
    event_id=None,
    tmin: float = -0.2,
    tmax: float = 0.8,
    baseline=None,
):
    """Cut `raw` into epochs: fixed-length windows (rest) or around annotated events (task)."""
    if kind == "fixed":
        if raw.times[-1] + 1.0 / raw.info["sfreq"] < length:
            raise EEGInputError(
                f"{recording}: recording is shorter than one epoch "
                f"({raw.times[-1] + 1 / raw.info['sfreq']:.2f} s < {length:g} s)"
            )
        return mne.make_fixed_length_epochs(
            raw, duration=length, overlap=overlap, preload=True, verbose="error"
        )
    if kind != "events":
        raise ValueError(f"config key eeg.preprocessing.epochs.kind: unknown {kind!r}")
    try:
        events, ids = mne.events_from_annotations(raw, event_id=event_id or None, verbose="error")
    except ValueError:  # MNE: "Could not find any of the events you specified."
        events = []
    if not len(events):
        raise EEGInputError(
            f"{recording}: no events matching {sorted(event_id or {}) or 'any'} "
            f"among the annotations {sorted(set(raw.annotations.description))}"
        )
    return mne.Epochs(
        raw,
        events,
        ids,
        tmin=tmin,
        tmax=tmax,
        baseline=tuple(baseline) if baseline else None,
        preload=True,
        reject_by_annotation=True,
        verbose="error",
    )


def reject_epochs(
    epochs, recording, peak_to_peak: float | None = 150.0, flat: float | None = 1.0, first_samp: int = 0
) -> pd.DataFrame:
    """Drop epochs whose EEG peak-to-peak amplitude exceeds `peak_to_peak` or falls below
    `flat` (microvolts) on any channel; return the per-epoch log. Raises if none survive."""
    picks = mne.pick_types(epochs.info, eeg=True)
    ptp = np.ptp(epochs.get_data(picks=picks), axis=2)  # (n_epochs, n_channels)
    reason = []
    for row in ptp:
        r = []
        if peak_to_peak is not None and (row > peak_to_peak * UV).any():
            r.append("peak_to_peak:" + epochs.ch_names[picks[int(np.argmax(row))]])
        if flat is not None and (row < flat * UV).any():
            r.append("flat:" + epochs.ch_names[picks[int(np.argmin(row))]])
        reason.append("+".join(r))
    log = pd.DataFrame(
        {
            "epoch": np.arange(len(ptp)),
            "onset": (epochs.events[:, 0] - first_samp) / epochs.info["sfreq"] + epochs.tmin,
            "max_peak_to_peak_uV": ptp.max(axis=1) / UV,
            "kept": [not r for r in reason],
            "drop_reason": [r or "n/a" for r in reason],
        }
    )
    drop = np.flatnonzero(~log["kept"].to_numpy())
    if len(drop) == len(log):
        raise EEGInputError(
            f"{recording}: every one of the {len(log)} epochs exceeds the "
            f"rejection thresholds (peak-to-peak {peak_to_peak} uV, flat {flat} "
            "uV); loosen eeg.preprocessing.reject or check the recording"
        )
    epochs.drop(drop, reason="neuroflow reject", verbose="error")
    return log


def preprocess(raw, cfg: dict, recording: str, copy: bool = True) -> dict:
    """Run every activated step on a copy of `raw` (on `raw` itself with ``copy=False``).

    Parameters
    ----------
    raw : mne.io.Raw
        Preloaded recording with a montage (EEG channels in volts).
    cfg : dict
        The ``eeg.preprocessing`` config section (missing keys take :data:`DEFAULTS`).
    recording : str
        The input file, named in every error.
    copy : bool
        False: work on `raw` in place (a recording read for this call only), saving a
        copy of the data.

    Returns
    -------
    dict
        ``raw`` (cleaned continuous data), ``filtered`` (before ICA, for QC), ``epochs``,
        ``ica`` (or None), ``channels``, ``components``, ``epochs_log`` (DataFrames) and
        ``steps`` (what was done, with the parameters used).
    """
    cfg = with_defaults(cfg)
    raw = raw.copy() if copy else raw
    steps = []
    raw.pick(["eeg", "eog", "ecg", "stim"], exclude=())
    if not len(raw.ch_names) or "eeg" not in raw.get_channel_types():
        raise EEGInputError(f"{recording}: no EEG channels")
    _filter_steps(raw, cfg, steps)
    channels = _bad_channel_step(raw, cfg["bad_channels"], recording, steps)
    if (ref := cfg["reference"])["activate"]:
        rereference(raw, ref["kind"], ref["channels"], recording)
        steps.append({"step": "reference", "kind": ref["kind"], "channels": ref["channels"]})
    filtered = raw.copy()
    ica, components = None, pd.DataFrame()
    if cfg["ica"]["activate"]:
        ica, components = ica_step(raw, cfg, channels, steps)
    e = cfg["epochs"]
    epochs = make_epochs(
        raw,
        recording,
        e["kind"],
        e["length"],
        e["overlap"],
        e["event_id"],
        e["tmin"],
        e["tmax"],
        e["baseline"],
    )
    n_epochs = len(epochs)
    rj = cfg["reject"]
    if rj["activate"]:
        log = reject_epochs(epochs, recording, rj["peak_to_peak"], rj["flat"], raw.first_samp)
    else:
        log = reject_epochs(epochs, recording, None, None, raw.first_samp)
    steps.append(
        {
            "step": "epochs",
            "kind": e["kind"],
            "n_epochs": n_epochs,
            "n_kept": len(epochs),
            "reject": rj if rj["activate"] else None,
        }
    )
    return {
        "raw": raw,
        "filtered": filtered,
        "epochs": epochs,
        "ica": ica,
        "channels": channels,
        "components": components,
        "epochs_log": log,
        "steps": steps,
    }


def _filter_steps(raw, cfg: dict, steps: list) -> None:
    """Band-pass, notch and resample ``raw`` in place, as activated; log them in ``steps``."""
    if (f := cfg["filter"])["activate"]:
        filter_raw(raw, f["l_freq"], f["h_freq"], f["method"], f["phase"])
        steps.append(
            {
                "step": "filter",
                "l_freq": f["l_freq"],
                "h_freq": f["h_freq"],
                "method": f["method"],
                "phase": f["phase"],
            }
        )
    if cfg["notch"]["activate"] and cfg["notch"]["freqs"]:
        steps.append({"step": "notch", "freqs": notch_raw(raw, cfg["notch"]["freqs"])})
    if (r := cfg["resample"])["activate"] and abs(raw.info["sfreq"] - r["sfreq"]) > 1e-9:
        steps.append({"step": "resample", "from": raw.info["sfreq"], "to": r["sfreq"]})
        raw.resample(r["sfreq"], npad="auto", verbose="error")


def _bad_channel_step(raw, b: dict, recording: str, steps: list) -> pd.DataFrame:
    """Flag bad channels and interpolate them (or mark them bad) in place; the channel table."""
    channels = detect_bad_channels(
        raw, b["methods"] if b["activate"] else [], b["flat_threshold"], b["deviation_z"], b["lof_threshold"]
    )
    bads = channels.loc[channels["bad"], "name"].tolist()
    if len(bads) > b["max_fraction"] * len(channels):
        raise EEGInputError(
            f"{recording}: {len(bads)} of {len(channels)} EEG channels are bad "
            f"({bads}); more than max_fraction={b['max_fraction']}"
        )
    channels["interpolated"] = False
    if bads and b["interpolate"]:
        interpolate_bads(raw, bads, recording)
        channels["interpolated"] = channels["bad"]
    else:
        raw.info["bads"] = bads
    steps.append(
        {
            "step": "bad_channels",
            "methods": b["methods"] if b["activate"] else [],
            "bad": bads,
            "interpolated": bool(bads and b["interpolate"]),
        }
    )
    return channels
