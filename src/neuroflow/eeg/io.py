"""Reading EEG recordings as users have them, montages, and the embedded spkit recording.

Every reader returns a preloaded :class:`mne.io.Raw` in volts. Every problem with an input
raises :class:`EEGInputError` (a ``ValueError``) whose message starts with the file's path
and says what was expected, so that a failing subject is easy to find in a cohort.
"""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np

FORMATS = {
    ".edf": "edf",
    ".bdf": "bdf",
    ".vhdr": "brainvision",
    ".set": "eeglab",
    ".fif": "fif",
    ".fif.gz": "fif",
}
MONTAGE_FROM_FILE = "file"
# Built-in montage names renamed in MNE 1.13 (the old names go in 1.14): accept both.
_MONTAGE_ALIASES = {
    f"standard_{s}": f"colin27_{s}" for s in ("1005", "1020", "alphabetic", "postfixed", "prefixed", "primed")
}


class EEGInputError(ValueError):
    """An input recording, sidecar or montage cannot be used; the message names the file."""


def detect_format(path) -> str:
    """Return the reader name for `path` from its extension (see :data:`FORMATS`)."""
    name = Path(path).name.lower()
    for ext, fmt in sorted(FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(ext):
            return fmt
    raise EEGInputError(
        f"{path}: unknown EEG file extension; expected one of "
        f"{sorted(FORMATS)} or set 'format' for this subject"
    )


def companion_files(path) -> list[Path]:
    """Files a recording needs besides itself (BrainVision .eeg/.vmrk, EEGLAB .fdt)."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "brainvision":
        return [p for p in (path.with_suffix(".eeg"), path.with_suffix(".vmrk")) if p.exists()]
    if fmt == "eeglab":
        return [p for p in (path.with_suffix(".fdt"),) if p.exists()]
    return []


def _edf_expected_size(path: Path, bytes_per_sample: int) -> tuple[int, int] | None:
    """(expected file size from the header, number of data records), or None if unknown."""
    with open(path, "rb") as fh:
        head = fh.read(256)
        if len(head) < 256:
            raise EEGInputError(
                f"{path}: truncated EDF/BDF: the 256-byte header is incomplete ({len(head)} bytes)"
            )
        try:
            header_bytes = int(head[184:192].decode("ascii").strip())
            n_records = int(head[236:244].decode("ascii").strip())
            n_signals = int(head[252:256].decode("ascii").strip())
        except ValueError as exc:
            raise EEGInputError(f"{path}: not an EDF/BDF file (unreadable header: {exc})") from exc
        fh.seek(256 + n_signals * 216)  # label .. prefilter fields
        spr = fh.read(n_signals * 8)
        if len(spr) < n_signals * 8:
            raise EEGInputError(f"{path}: truncated EDF/BDF: the signal header is incomplete")
    if n_records < 0:
        return None
    try:
        samples = sum(int(spr[i * 8 : (i + 1) * 8].decode("ascii").strip()) for i in range(n_signals))
    except ValueError as exc:
        raise EEGInputError(f"{path}: not an EDF/BDF file (bad samples-per-record field)") from exc
    return header_bytes + n_records * samples * bytes_per_sample, n_records


def check_edf_complete(path) -> None:
    """Raise :class:`EEGInputError` if an EDF/BDF file is shorter than its header announces.

    MNE reads such files with only a warning (it infers the length from the file size);
    a truncated recording in a cohort is almost always a failed copy, so it is an error.
    """
    path = Path(path)
    expected = _edf_expected_size(path, 3 if path.suffix.lower() == ".bdf" else 2)
    if expected is not None and (size := path.stat().st_size) < expected[0]:
        raise EEGInputError(
            f"{path}: truncated EDF/BDF file: the header announces {expected[1]} "
            f"data records ({expected[0]} bytes) but the file holds {size} bytes"
        )


def read_recording(path, fmt: str = "auto"):
    """Read one continuous EEG recording into memory.

    Parameters
    ----------
    path : str or Path
        ``.edf``, ``.bdf``, ``.vhdr`` (BrainVision), ``.set`` (EEGLAB) or ``.fif``.
    fmt : {"auto", "edf", "bdf", "brainvision", "eeglab", "fif"}
        Reader; ``auto`` picks it from the extension.

    Returns
    -------
    raw : mne.io.Raw
        Preloaded, data in volts.
    """
    import mne

    path = Path(path)
    if not path.is_file():
        raise EEGInputError(f"{path}: recording not found")
    fmt = detect_format(path) if fmt == "auto" else fmt
    readers = {
        "edf": mne.io.read_raw_edf,
        "bdf": mne.io.read_raw_bdf,
        "brainvision": mne.io.read_raw_brainvision,
        "eeglab": mne.io.read_raw_eeglab,
        "fif": mne.io.read_raw_fif,
    }
    if fmt not in readers:
        raise EEGInputError(f"{path}: unknown format {fmt!r}; expected one of {sorted(readers)}")
    if fmt in ("edf", "bdf"):
        check_edf_complete(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            raw = readers[fmt](path, preload=True, verbose="error")
    except EEGInputError:
        raise
    except Exception as exc:  # every reader has its own exception types
        raise EEGInputError(f"{path}: cannot read as {fmt}: {type(exc).__name__}: {exc}") from exc
    if raw.n_times < 2:
        raise EEGInputError(f"{path}: the recording holds no data ({raw.n_times} samples)")
    return raw


def sidecar_of(path) -> Path | None:
    """The BIDS JSON sidecar of a recording (same name, ``.json``), if it exists."""
    path = Path(path)
    stem = path.name[: -len(".fif.gz")] if path.name.endswith(".fif.gz") else path.stem
    side = path.with_name(stem + ".json")
    return side if side.is_file() else None


def check_sidecar(raw, sidecar, recording) -> dict:
    """Check a BIDS sidecar against the recording; return the sidecar's content.

    Raises
    ------
    EEGInputError
        If ``SamplingFrequency`` disagrees with the recording's (tolerance 1e-6 Hz), or the
        sidecar is not valid JSON. The message names both files.
    """
    sidecar = Path(sidecar)
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EEGInputError(f"{sidecar}: unreadable JSON sidecar of {recording}: {exc}") from exc
    sf = meta.get("SamplingFrequency")
    if sf is not None:
        try:
            sf = float(sf)
        except (TypeError, ValueError):
            raise EEGInputError(f"{sidecar}: SamplingFrequency must be a number, got {sf!r}") from None
        if abs(sf - raw.info["sfreq"]) > 1e-6:
            raise EEGInputError(
                f"{recording}: sampling rate mismatch: the recording says "
                f"{raw.info['sfreq']:g} Hz, its sidecar {sidecar} says {sf:g} Hz"
            )
    return meta


def read_bids_recording(root, path):
    """Read one EEG recording of a BIDS dataset with mne-bids; return (raw, path).

    ``path`` is the data file (``.edf``, ``.bdf``, ``.vhdr`` or ``.set``) under ``root``; its
    entities become an mne-bids ``BIDSPath``, so ``read_raw_bids`` applies the
    ``_channels.tsv`` status and types, the ``_electrodes.tsv`` positions and the
    ``_eeg.json`` metadata. The sidecar's sampling rate is checked against the data
    (mne-bids does not).
    """
    import mne_bids

    path = Path(path)
    if not path.is_file():
        raise EEGInputError(f"{path}: recording not found (config key bids_dir: {root})")
    try:
        bp = mne_bids.get_bids_path_from_fname(path, check=False, verbose="error")
        bp.update(root=root, datatype="eeg", suffix="eeg", extension=path.suffix)
    except Exception as exc:
        raise EEGInputError(f"{path}: not a BIDS EEG file name: {exc}") from exc
    if path.suffix.lower() in (".edf", ".bdf"):
        check_edf_complete(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            raw = mne_bids.read_raw_bids(bp, verbose="error")
        raw.load_data(verbose="error")
    except Exception as exc:
        raise EEGInputError(f"{path}: cannot read with mne-bids: {type(exc).__name__}: {exc}") from exc
    side = sidecar_of(path)
    if side is not None:
        check_sidecar(raw, side, path)
    return raw, path


def _builtin_montage(name: str):
    import mne

    available = mne.channels.get_builtin_montages()
    for candidate in (
        name,
        _MONTAGE_ALIASES.get(name),
        {v: k for k, v in _MONTAGE_ALIASES.items()}.get(name),
    ):
        if candidate and candidate in available:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                return mne.channels.make_standard_montage(candidate)
    return None


def load_montage(montage: str, recording):
    """A :class:`mne.channels.DigMontage` from a built-in name or a montage file.

    Returns None for ``"file"`` (use the positions stored in the recording).
    """
    import mne

    if montage == MONTAGE_FROM_FILE:
        return None
    builtin = _builtin_montage(montage)
    if builtin is not None:
        return builtin
    path = Path(montage)
    if not path.is_file():
        raise EEGInputError(
            f"{recording}: montage {montage!r} is neither a built-in MNE montage "
            f"nor an existing file (built-in: "
            f"{', '.join(mne.channels.get_builtin_montages())})"
        )
    try:
        return mne.channels.read_custom_montage(path)
    except Exception as exc:
        raise EEGInputError(f"{path}: cannot read montage file (for {recording}): {exc}") from exc


def apply_montage(raw, montage: str, recording, on_missing: str = "raise") -> list[str]:
    """Give the EEG channels of `raw` positions; return channels dropped for lack of one.

    Parameters
    ----------
    montage : str
        ``"file"`` (positions already in the recording), a built-in montage name
        (e.g. ``colin27_1020``, ``biosemi64``) or a path to a montage file.
    on_missing : {"raise", "drop"}
        What to do with EEG channels the montage does not know: raise an error naming the
        file and the channels, or drop those channels.
    """
    import mne

    eeg = mne.pick_types(raw.info, eeg=True, exclude=())
    names = [raw.ch_names[i] for i in eeg]
    dig = load_montage(montage, recording)
    if dig is None:
        missing = [
            raw.ch_names[i]
            for i in eeg
            if not np.isfinite(raw.info["chs"][i]["loc"][:3]).all()
            or not np.any(raw.info["chs"][i]["loc"][:3])
        ]
    else:
        known = {c.lower() for c in dig.ch_names}
        missing = [n for n in names if n.lower() not in known]
    if missing and on_missing != "drop":
        where = "the recording's own positions" if dig is None else f"montage {montage!r}"
        raise EEGInputError(
            f"{recording}: {len(missing)} EEG channel name(s) unknown to "
            f"{where}: {missing}; rename them (eeg.subjects.<id>.rename), mark "
            "non-EEG channels (channel_types), or set montage_on_missing: drop"
        )
    if missing:
        raw.drop_channels(missing)
    if dig is not None:
        raw.set_montage(dig, match_case=False, on_missing="ignore", verbose="error")
    return missing


# -- the embedded spkit recording -------------------------------------------------------

_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that builds only builtin containers and numpy arrays (no other classes)."""

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed")
        if name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct

            return _reconstruct
        return getattr(np, name)


def load_spkit_pickle(path) -> dict:
    """Read spkit's ``EEG16sec_artifact.pkl`` with a numpy-only unpickler.

    Call this only on a file whose sha256 the resources step has verified.

    Returns
    -------
    dict
        ``X_raw``, ``X_fil``, ``X_ica``, ``X_atar_soft``, ``X_atar_elim``: ndarray, shape
        (n_samples, n_channels), microvolts; ``fs`` (Hz); ``ch_names``; ``info`` (text).
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = _NumpyOnlyUnpickler(fh).load()
    except (pickle.UnpicklingError, EOFError, OSError) as exc:
        raise EEGInputError(f"{path}: cannot read the spkit EEG pickle: {exc}") from exc
    need = {"X_raw", "fs", "ch_names"}
    if not isinstance(data, dict) or not need <= set(data):
        raise EEGInputError(f"{path}: expected a dict with keys {sorted(need)}")
    for key, value in data.items():
        if isinstance(value, np.ndarray) and value.ndim != 2:
            raise EEGInputError(f"{path}: {key} must be 2-D (samples x channels)")
    return data


def spkit_to_raw(data: dict, key: str = "X_raw", description: str = ""):
    """One signal of the spkit recording as an MNE RawArray (microvolts -> volts)."""
    import mne

    x = np.asarray(data[key], dtype=float).T * 1e-6
    info = mne.create_info(list(data["ch_names"]), float(data["fs"]), "eeg")
    info["description"] = description
    raw = mne.io.RawArray(x, info, verbose="error")
    raw.set_meas_date(None)
    return raw


# -- derivative _channels.tsv ------------------------------------------------------------

#: BIDS channel types of MNE's channel kinds (as mne-bids writes them for EEG recordings).
BIDS_CHANNEL_TYPES = {
    "eeg": "EEG",
    "eog": "EOG",
    "ecg": "ECG",
    "emg": "EMG",
    "stim": "TRIG",
    "misc": "MISC",
    "resp": "RESP",
    "temperature": "TEMP",
    "gsr": "GSR",
    "bio": "MISC",
}
_SI_PREFIXES = {0: "", 3: "k", -3: "m", -6: "µ", -9: "n", -12: "p"}

#: Descriptions of the columns of the EEG stage's ``_channels.tsv`` (for its JSON sidecar):
#: BIDS' required ``name``, ``type``, ``units``, its optional ``status``, then quality columns.
CHANNELS_TSV_COLUMNS = {
    "name": "channel label",
    "type": "BIDS channel type",
    "units": "physical unit of the channel's values in the derivative FIF files "
    "(as MNE holds them: V for EEG)",
    "status": "good or bad",
    "amplitude_uV": "robust amplitude (IQR/1.349) after filtering, microvolts",
    "deviation_z": "robust z-score of the amplitude over channels",
    "lof_score": "local outlier factor (n/a when not computed)",
    "bad_detected": "flagged by a criterion",
    "reason": "criteria that flagged it",
    "interpolated": "replaced by spherical-spline interpolation",
}


def channel_units(info, names) -> list[str]:
    """BIDS ``units`` of the channels `names` of `info`: SI prefix + unit (``V``, ``µV``).

    Unitless channels (FIFF unit none, e.g. stimulus channels) give ``n/a``. Raises
    ``ValueError`` naming a channel that `info` does not hold.
    """
    from mne.io.constants import FIFF

    unit_names = {
        FIFF.FIFF_UNIT_V: "V",
        FIFF.FIFF_UNIT_T: "T",
        FIFF.FIFF_UNIT_T_M: "T/m",
        FIFF.FIFF_UNIT_MOL: "mol",
        FIFF.FIFF_UNIT_CEL: "oC",
        FIFF.FIFF_UNIT_S: "S",
        FIFF.FIFF_UNIT_M: "m",
        FIFF.FIFF_UNIT_AM: "A*m",
    }
    chs = {ch["ch_name"]: ch for ch in info["chs"]}
    out = []
    for name in names:
        if name not in chs:
            raise ValueError(f"channel {name!r} is not in the recording's info (channels: {list(chs)})")
        unit, mul = chs[name]["unit"], int(chs[name]["unit_mul"])
        if unit == FIFF.FIFF_UNIT_NONE or unit not in unit_names or mul not in _SI_PREFIXES:
            out.append("n/a")
        else:
            out.append(_SI_PREFIXES[mul] + unit_names[unit])
    return out


def bids_channels_table(channels, info):
    """The EEG stage's ``_channels.tsv`` table: BIDS ``name``, ``type``, ``units``, ``status``
    first, then the bad-channel quality columns.

    Parameters
    ----------
    channels : DataFrame
        :func:`neuroflow.eeg.preprocess.detect_bad_channels`' table (``name``, ``bad``, ...),
        plus ``interpolated`` where the pipeline adds it.
    info : mne.Info
        Info of the data the derivative holds (types and units are read from it).
    """
    import mne

    ch = channels.rename(columns={"bad": "bad_detected"}).reset_index(drop=True)
    names = ch["name"].tolist()
    idx = {n: i for i, n in enumerate(info["ch_names"])}
    units = channel_units(info, names)  # raises for an unknown channel first
    kinds = [mne.channel_type(info, idx[n]) for n in names]
    ch.insert(1, "type", [BIDS_CHANNEL_TYPES.get(k, k.upper()) for k in kinds])
    ch.insert(2, "units", units)
    ch.insert(3, "status", np.where(ch["bad_detected"].astype(bool), "bad", "good"))
    return ch
