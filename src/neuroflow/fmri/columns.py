"""Descriptions and units of the fMRI stage's tables (output schema: BIDS tabular sidecars).

Whether a run is simulated is the user's word: ``fmri.simulated`` for the cohort, or a
``simulated`` column of the sample sheet; it is an index column, stamped on every output of
the run and, for group tables, true when any run is (:func:`neuroflow.fmri.pipeline`).
"""

from __future__ import annotations

import json
from pathlib import Path

from neuroflow.output_schema import is_simulated

_ENTITY = {
    "sub": "BIDS subject label",
    "ses": "BIDS session label",
    "task": "BIDS task label",
    "acq": "BIDS acquisition label",
    "ce": "BIDS contrast-enhancement label",
    "rec": "BIDS reconstruction label",
    "dir": "BIDS phase-encoding direction label",
    "run": "BIDS run index",
    "echo": "BIDS echo index",
    "space": "template space",
    "res": "BIDS resolution label",
    "den": "BIDS density label",
    "hemi": "hemisphere",
    "cohort": "template cohort",
    "part": "BIDS part label",
}
_ENTITY.update(
    {
        k: f"BIDS entity {k} of the file name (empty: none)"
        for k in (
            "sample",
            "tracksys",
            "nuc",
            "voi",
            "trc",
            "stain",
            "mod",
            "flip",
            "inv",
            "mt",
            "proc",
            "split",
            "recording",
            "chunk",
            "seg",
            "roi",
            "model",
            "label",
        )
    }
)
_TR = {"Description": "repetition time", "Units": "s"}
INDEX_COLUMNS = {
    **_ENTITY,
    "stem": "BIDS entities of the run (output file prefix)",
    "folder": "output folder under the results directory",
    "kind": {
        "Description": "input kind",
        "Levels": {
            "volume": "NIfTI BOLD",
            "surface": "GIfTI BOLD (both hemispheres)",
            "cifti": "CIFTI BOLD",
            "timeseries": "ready region time series",
        },
    },
    "bold": "BOLD file (left hemisphere for surface data)",
    "bold_rh": "right-hemisphere BOLD file (surface data)",
    "bold_json": "BOLD JSON sidecar",
    "confounds": "confounds file",
    "confounds_format": "format of the confounds file",
    "t_r": _TR,
    "t_r_source": "where the repetition time was read",
    "timeseries": "ready region time series file",
    "atlas": "atlas of the ready time series",
    "mat_variable": "variable of a MATLAB time-series file",
    "strategies": "denoising strategies applied (comma-separated)",
    "atlases": "atlases applied (comma-separated)",
    "simulated": {
        "Description": "the run's data are SIMULATED (fmri.simulated or the sample sheet)",
        "Levels": {"true": "simulated", "false": "recorded"},
    },
}


def qc_columns(fd_threshold) -> dict:
    """Columns of the per-run (and group) QC table."""
    return {
        **_ENTITY,
        "stem": "BIDS entities of the run",
        "kind": INDEX_COLUMNS["kind"],
        "strategy": "denoising strategy",
        "t_r": _TR,
        "n_volumes": {"Description": "volumes of the run", "Units": "count"},
        "n_kept": {"Description": "volumes kept after censoring", "Units": "count"},
        "fraction_kept": {"Description": "volumes kept / volumes", "Units": "1"},
        "minutes_kept": {"Description": "kept volumes x TR", "Units": "min"},
        "excluded": "run excluded by the minimum-data rule",
        "exclusion_reason": "why the run was excluded (n/a: kept)",
        "fd_mean": {
            "Description": "mean framewise displacement (n/a without motion confounds)",
            "Units": "mm",
        },
        "fd_max": {"Description": "maximum framewise displacement", "Units": "mm"},
        "fd_n_above": {"Description": f"volumes with FD > {fd_threshold} mm", "Units": "count"},
        "dvars_median_raw": {
            "Description": "median DVARS before denoising, in the data's units (BOLD signal)",
            "Units": "1",
        },
        "dvars_median_clean": {
            "Description": "median DVARS after the strategy's cleaning without standardization",
            "Units": "1",
        },
        "tsnr_median": {
            "Description": "median temporal SNR (mean / SD over time; n/a for mean-centred input)",
            "Units": "1",
        },
        "n_units": {
            "Description": "voxels / vertices (non-constant) or regions used for tSNR",
            "Units": "count",
        },
        "n_units_dvars": {
            "Description": "evenly spaced voxels / vertices used for DVARS and the carpets",
            "Units": "count",
        },
    }


TIMESERIES_INDEX_COLUMNS = {
    **_ENTITY,
    "path": "relative to the results directory",
    "atlas": "atlas",
    "strategy": "denoising strategy",
    "t_r": _TR,
    "n_regions": {"Description": "regions of the atlas", "Units": "count"},
    "n_empty_regions": {
        "Description": "regions left out as empty (see the file's EmptyRegions)",
        "Units": "count",
    },
    "n_volumes_kept": {"Description": "rows of the time series after censoring", "Units": "count"},
    "fraction_kept": {"Description": "volumes kept / volumes", "Units": "1"},
    "excluded": "run excluded by the minimum-data rule",
    "exclusion_reason": "why the run was excluded (n/a: kept)",
}


def region_columns(regions, atlas: str, what: str) -> dict:
    """One description per region column of a region time-series table."""
    return {
        str(r): {
            "Description": f"{what} of region {r} (atlas {atlas}), BOLD signal in the data's units",
            "Units": "1",
        }
        for r in regions
    }


def regressor_columns(names, strategy: str) -> dict:
    """One description per confound regressor column."""
    return {
        str(c): {
            "Description": f"confound regressor {c} (strategy {strategy}, from the fMRIPrep confounds)",
            "Units": "1",
        }
        for c in names
    }


def run_simulated(row: dict) -> bool:
    """A run's ``simulated`` flag (index column; a row built by hand may lack it: recorded)."""
    value = row.get("simulated", False)
    return value if isinstance(value, bool) else str(value).strip().lower() in ("true", "1")


def sidecar_simulated(tsvs) -> bool:
    """True when any of the tables' sidecars says ``Simulated`` (a group mixes runs); a table
    without a sidecar (made outside the workflow) counts as recorded."""
    sidecars = [Path(t).with_suffix(".json") for t in tsvs]
    return any(is_simulated(json.loads(j.read_text()), j) for j in sidecars if j.is_file())
