"""The EEG group table: one row per recording, read from the recording's outputs (summary
JSON, aperiodic table, features and connectivity NetCDF, the simulator's truth)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from neuroflow.output_schema import is_simulated
from neuroflow.provenance import read_netcdf

#: columns that only simulated recordings fill; NaN for a cohort without any
TRUTH_COLUMNS = (
    "truth_exponent",
    "truth_alpha_peak_frequency",
    "truth_dead_channel",
    "exponent_error",
    "alpha_error",
    "dead_channel_detected",
)


@dataclass
class Group:
    """What the group outputs are made of, in recording order: the table, each recording's
    channel-mean Welch spectrum (``spectra``: stem -> (freqs, V^2/Hz)), whether it is
    simulated, its channel-mean relative band power, and its channel-pair mean connectivity
    (n_methods, n_bands) for ``methods`` x ``con_bands`` (empty without connectivity)."""

    table: pd.DataFrame | None = None
    bands: list | None = None
    spectra: dict = field(default_factory=dict)
    simulated: dict = field(default_factory=dict)
    relative: list = field(default_factory=list)
    connectivity: list = field(default_factory=list)
    methods: list | None = None
    con_bands: list | None = None


def read_group(recordings, summaries, features, aperiodics, connectivities, truths: dict) -> Group:
    """Read every recording's outputs (lists in the order of ``recordings``; ``truths``:
    stem -> truth JSON of the simulated ones) into a :class:`Group`."""
    group, rows = Group(), []
    for i, rec in enumerate(recordings):
        one = read_row(
            rec,
            summaries[i],
            features[i],
            aperiodics[i],
            connectivities[i] if connectivities else None,
            truths.get(rec),
        )
        group.bands = one["bands"]
        group.simulated[rec] = one["row"]["simulated"]
        group.spectra[rec] = one["spectrum"]
        group.relative.append(one["relative"])
        if one["connectivity"] is not None:
            group.methods, group.con_bands = one["methods"], one["con_bands"]
            group.connectivity.append(one["connectivity"])
        rows.append(one["row"])
    table = pd.DataFrame(rows)
    for col in TRUTH_COLUMNS:
        if col not in table:
            table[col] = np.nan
    group.table = table
    return group


def _summary_row(rec: str, summ: dict, summary, ap: pd.DataFrame) -> dict:
    """The group-table columns from a recording's summary JSON and aperiodic table."""
    ents = summ.get("entities") or {"sub": summ["subject"]}
    return {
        "recording": rec,
        "subject": ents["sub"],
        "session": ents.get("ses", "n/a"),
        "task": ents.get("task", "n/a"),
        "acquisition": ents.get("acq", "n/a"),
        "run": ents.get("run", "n/a"),
        "simulated": is_simulated(summ, summary),
        "kind": summ["kind"],
        "n_channels": summ["n_channels"],
        "bad_channels": " ".join(summ["bad_channels"]) or "n/a",
        "n_ica_components": summ["n_ica_components"],
        "ica_excluded": " ".join(summ["ica_excluded"]) or "n/a",
        "n_epochs": summ["n_epochs"],
        "n_epochs_kept": summ["n_epochs_kept"],
        "exponent": float(ap["exponent"].median()) if "exponent" in ap else np.nan,
        "offset": float(ap["offset"].median()) if "offset" in ap else np.nan,
        "r_squared": float(ap["r_squared"].median()) if "r_squared" in ap else np.nan,
        "alpha_peak_frequency": float(ap["alpha_cf"].median()) if "alpha_cf" in ap else np.nan,
    }


def _truth_columns(row: dict, truth, bad_channels) -> dict:
    """The simulator's truth and the recovery errors of a simulated recording."""
    t = json.loads(Path(truth).read_text())
    return {
        "truth_exponent": t["aperiodic_exponent"],
        "truth_alpha_peak_frequency": t["alpha_peak_frequency"],
        "truth_dead_channel": t["dead_channel"],
        "exponent_error": row["exponent"] - t["aperiodic_exponent"],
        "alpha_error": row["alpha_peak_frequency"] - t["alpha_peak_frequency"],
        "dead_channel_detected": t["dead_channel"] in bad_channels,
    }


def read_row(rec: str, summary, features, aperiodic, connectivity, truth) -> dict:
    """Read one recording's outputs: its group-table row, mean spectrum, relative band
    power and mean connectivity (``None`` without a connectivity file)."""
    summ = json.loads(Path(summary).read_text())
    ap = pd.read_csv(aperiodic, sep="\t")
    ds = read_netcdf(features, "EEG features")
    bands = list(ds["band"].values)
    out = {
        "bands": bands,
        "spectrum": (ds["freq"].values, ds["psd_welch"].values.mean(axis=0)),
        "connectivity": None,
        "methods": None,
        "con_bands": None,
    }
    row = _summary_row(rec, summ, summary, ap)
    r = ds["relative_band_power"].mean("channel").values
    out["relative"] = r
    row.update({f"relative_{b}": float(v) for b, v in zip(bands, r)})
    if connectivity is not None:
        con = read_netcdf(connectivity, "EEG connectivity")
        methods, con_bands = list(con["method"].values), list(con["band"].values)
        m = np.nanmean(con["connectivity"].values, axis=(2, 3))
        out.update(connectivity=m, methods=methods, con_bands=con_bands)
        row.update(
            {f"{mm}_{bb}": float(m[a, b]) for a, mm in enumerate(methods) for b, bb in enumerate(con_bands)}
        )
    if truth:
        row.update(_truth_columns(row, truth, summ["bad_channels"]))
    out["row"] = row
    return out
