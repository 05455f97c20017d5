"""What the EEG stage writes, built from computed values: FIF saving, provenance attributes,
the per-recording and group NetCDF datasets and the band-power table.

No function here computes a feature; each takes the arrays :mod:`neuroflow.eeg.features`
returned and lays them out with units, long names and the stage's provenance attributes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neuroflow.eeg.simulate import SIMULATED_NOTE
from neuroflow.provenance import atomic_write
from neuroflow.resources import sha256_file

EEG_PACKAGES = (
    "neuroflow",
    "mne",
    "mne-bids",
    "mne-connectivity",
    "specparam",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "h5netcdf",
)
REAL_NOTE = "real recording"


def note(simulated: bool) -> str:
    """What every output of a recording says it is: simulated or a real recording."""
    return SIMULATED_NOTE if simulated else REAL_NOTE


def save_fif(obj, path) -> None:
    """Save an MNE Raw/Epochs/ICA to `path` atomically (temporary sibling, then rename)."""
    # MNE requires the name to end in e.g. "-raw.fif", hence the temporary suffix
    with atomic_write(path, suffix="-" + Path(path).name) as tmp:
        obj.save(tmp, overwrite=True, verbose="error")


def file_inputs(files) -> list[dict]:
    """``[{"file": name, "sha256": digest}]`` of the existing files among `files`."""
    return [{"file": Path(f).name, "sha256": sha256_file(f)} for f in files if Path(f).is_file()]


def provenance_attrs(epochs_path, cfg: dict, recording: str, simulated: bool) -> dict:
    """The first NetCDF attributes of a recording's features: subject, recording, what it
    is, the input epochs file with its digest and the parameters (JSON)."""
    subject = recording.split("_")[0].removeprefix("sub-")
    return {
        "subject": subject,
        "recording": recording,
        "description": note(simulated),
        "inputs": json.dumps(file_inputs([epochs_path])),
        "parameters": json.dumps(cfg, sort_keys=True),
    }


@dataclass(frozen=True)
class Spectra:
    """Channel spectra of one recording's epochs and the band power derived from them.

    ``welch`` and ``multitaper`` have shape (n_channels, n_freqs) in V^2/Hz at the
    frequencies ``welch_freqs`` / ``multitaper_freqs`` (Hz); ``absolute`` (V^2) and
    ``relative`` have shape (n_channels, n_bands) for ``bands`` ({name: [low, high] Hz}).
    """

    welch_freqs: np.ndarray
    welch: np.ndarray
    multitaper_freqs: np.ndarray
    multitaper: np.ndarray
    bands: dict
    absolute: np.ndarray
    relative: np.ndarray


def spectra_dataset(spectra: Spectra, names, positions: np.ndarray, cfg: dict, attrs: dict) -> xr.Dataset:
    """The features NetCDF of one recording (without the specparam variables).

    ``positions`` has shape (n_channels, 3), head coordinates in m; ``cfg`` is the filled
    ``eeg.features`` section (``fmin``, ``fmax`` name the relative-power range).
    """
    s = spectra
    return xr.Dataset(
        {
            "psd_welch": (
                ("channel", "freq"),
                s.welch,
                {"units": "V^2/Hz", "long_name": "Welch PSD, mean over epochs"},
            ),
            "psd_multitaper": (
                ("channel", "freq_multitaper"),
                s.multitaper,
                {"units": "V^2/Hz", "long_name": "multitaper PSD, mean over epochs"},
            ),
            "band_power": (
                ("channel", "band"),
                s.absolute,
                {"units": "V^2", "long_name": "absolute band power (Welch)"},
            ),
            "relative_band_power": (
                ("channel", "band"),
                s.relative,
                {"units": "1", "long_name": f"band power / power {cfg['fmin']}-{cfg['fmax']} Hz"},
            ),
            "band_edges": (("band", "edge"), np.array(list(s.bands.values()), float), {"units": "Hz"}),
        },
        coords={
            "channel": names,
            "freq": ("freq", s.welch_freqs, {"units": "Hz"}),
            "freq_multitaper": ("freq_multitaper", s.multitaper_freqs, {"units": "Hz"}),
            "band": list(s.bands),
            "edge": ["low", "high"],
            "ch_x": ("channel", positions[:, 0], {"units": "m", "long_name": "head coordinates"}),
            "ch_y": ("channel", positions[:, 1], {"units": "m"}),
            "ch_z": ("channel", positions[:, 2], {"units": "m"}),
        },
        attrs=attrs,
    )


#: specparam table column -> its units in the features NetCDF
APERIODIC_UNITS = (
    ("offset", "log10 uV^2/Hz"),
    ("exponent", "1"),
    ("r_squared", "1"),
    ("alpha_cf", "Hz"),
    ("alpha_pw", "log10 power above aperiodic"),
)


def add_aperiodic(ds: xr.Dataset, table: pd.DataFrame, summary: dict) -> None:
    """Add the per-channel specparam fit (``aperiodic_offset``, ``aperiodic_exponent``,
    ``r_squared``, ``alpha_cf``, ``alpha_pw``) and the ``subject_*`` summary attributes."""
    for col, units in APERIODIC_UNITS:
        ds[f"aperiodic_{col}" if col in ("offset", "exponent") else col] = (
            "channel",
            table[col].to_numpy(float),
            {"units": units},
        )
    ds.attrs.update({f"subject_{k}": v for k, v in summary.items()})


def bandpower_table(spectra: Spectra, names, uv2: float) -> pd.DataFrame:
    """Band power in long form: one row per channel x band (``power_uV2``: V^2 x ``uv2``)."""
    bands = spectra.bands
    return pd.DataFrame(
        [
            {
                "channel": c,
                "band": b,
                "fmin": bands[b][0],
                "fmax": bands[b][1],
                "power_uV2": spectra.absolute[i, j] * uv2,
                "relative_power": spectra.relative[i, j],
            }
            for i, c in enumerate(names)
            for j, b in enumerate(bands)
        ]
    )


def connectivity_dataset(data: np.ndarray, valid, methods, bands, names, attrs: dict) -> xr.Dataset:
    """The connectivity NetCDF of one recording: ``data`` has shape (n_methods, n_bands,
    n_channels, n_channels); ``valid`` says per band whether it was estimated."""
    return xr.Dataset(
        {
            "connectivity": (
                ("method", "band", "channel", "channel_to"),
                data,
                {"units": "1", "long_name": "sensor connectivity (symmetric)"},
            ),
            "band_estimated": (
                "band",
                np.array(valid, dtype=np.int8),
                {"long_name": "1 if the band spans >= 5 cycles per epoch"},
            ),
        },
        coords={
            "method": list(methods),
            "band": list(bands),
            "channel": names,
            "channel_to": names,
        },
        attrs=attrs,
    )


def group_dataset(table: pd.DataFrame, rel, bands, summaries, features) -> xr.Dataset:
    """The group NetCDF (recording x band), without the connectivity."""
    n_sim = int(table["simulated"].sum())
    return xr.Dataset(
        {
            "relative_band_power": (
                ("recording", "band"),
                np.array(rel),
                {"units": "1", "long_name": "relative band power, channel mean"},
            ),
            "exponent": ("recording", table["exponent"].to_numpy(float), {"units": "1"}),
            "offset": ("recording", table["offset"].to_numpy(float), {"units": "log10 uV^2/Hz"}),
            "alpha_peak_frequency": (
                "recording",
                table["alpha_peak_frequency"].to_numpy(float),
                {"units": "Hz"},
            ),
            "truth_exponent": ("recording", table["truth_exponent"].to_numpy(float), {"units": "1"}),
            "truth_alpha_peak_frequency": (
                "recording",
                table["truth_alpha_peak_frequency"].to_numpy(float),
                {"units": "Hz"},
            ),
        },
        coords={
            "recording": list(table["recording"]),
            "band": bands,
            **{
                c: ("recording", table[c].astype(str).tolist())
                for c in ("subject", "session", "task", "acquisition", "run")
            },
            "simulated": ("recording", table["simulated"].to_numpy(np.int8)),
        },
        attrs={
            "title": f"EEG group features ({n_sim} SIMULATED recordings flagged by 'simulated')",
            "inputs": json.dumps(file_inputs(list(summaries) + list(features))),
        },
    )
