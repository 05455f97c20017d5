"""Methods paragraph of the fMRI preprocessing stage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neuroflow import __version__
from neuroflow.config import filled_section
from neuroflow.report.references import cite, dataset_reference, used_versions

FMRIPREP = (
    "Esteban O, Markiewicz CJ, Blair RW, et al. (2019). fMRIPrep: a robust preprocessing "
    "pipeline for functional MRI. Nat Methods 16:111-116."
)
LOAD_CONFOUNDS = (
    "Wang HT, Meisler SL, Sharmarke H, et al. (2024). Continuous evaluation of "
    "denoising strategies in resting-state fMRI connectivity using fMRIPrep and "
    "Nilearn. PLoS Comput Biol 20:e1011942."
)
POWER = (
    "Power JD, Barnes KA, Snyder AZ, Schlaggar BL, Petersen SE (2012). Spurious but "
    "systematic correlations in functional connectivity MRI networks arise from subject "
    "motion. NeuroImage 59:2142-2154."
)
PARKES = (
    "Parkes L, Fulcher B, Yucel M, Fornito A (2018). An evaluation of the efficacy, "
    "reliability, and sensitivity of motion correction strategies for resting-state "
    "functional MRI. NeuroImage 171:415-436."
)
SCHAEFER = (
    "Schaefer A, Kong R, Gordon EM, et al. (2018). Local-global parcellation of the human "
    "cerebral cortex from intrinsic functional connectivity MRI. Cereb Cortex 28:3095-3114."
)
HCP_MESH = (
    "Van Essen DC, Glasser MF, Dierker DL, Harwell J, Coalson T (2012). Parcellations and "
    "hemispheric asymmetries of human cerebral cortex analyzed on surface-based atlases. "
    "Cereb Cortex 22:2241-2262 (fs_LR / fsaverage registration)."
)


def _words(value) -> str:
    """A setting's value in words (lists joined, booleans as yes / no)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_words(v) for v in value) or "none"
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _loader_text(name: str, s: dict) -> str:
    """One strategy: its confound loader and options, in words."""
    opts = dict(s.get("options") or {})
    if s["loader"] == "none":
        text = f"'{name}': no confound regressors"
    elif s["loader"] == "columns":
        cols = opts.pop("columns", None)
        text = (
            f"'{name}': the columns {_words(cols)} of the confounds table"
            if cols
            else f"'{name}': every column of the confounds table"
        )
        fd = opts.pop("fd_threshold", None)
        if fd is not None:
            text += f", volumes with framewise displacement above {fd:g} mm censored"
    else:
        text = f"'{name}': nilearn loader '{s['loader']}'"
    if opts:
        text += " (" + "; ".join(f"{k.replace('_', ' ')} {_words(v)}" for k, v in sorted(opts.items())) + ")"
    return text + _clean_text(s, " with")


def _clean_text(clean: dict, lead: str) -> str:
    """Detrending, filters and standardization of ``clean`` (or a strategy's overrides)."""
    bits = []
    if "detrend" in clean:
        bits.append("linear detrending" if clean["detrend"] else "no detrending")
    if "standardize_confounds" in clean:
        bits.append("confounds z-scored" if clean["standardize_confounds"] else "confounds not z-scored")
    low, high = clean.get("low_pass"), clean.get("high_pass")
    kind = f"{clean['filter']} " if "filter" in clean else ""
    if low is not None and high is not None:
        bits.append(f"{kind}band-pass {high:g}-{low:g} Hz")
    elif low is not None:
        bits.append(f"{kind}low-pass {low:g} Hz")
    elif high is not None:
        bits.append(f"{kind}high-pass {high:g} Hz")
    elif "low_pass" in clean or "high_pass" in clean:
        bits.append("no temporal filter")
    if "standardize" in clean:
        bits.append(
            f"signals standardized ({clean['standardize']})"
            if clean["standardize"]
            else "signals kept in the data's units"
        )
    return f"{lead} {', '.join(bits)}" if bits else ""


def _applied_strategies(config: dict, strategies: dict) -> dict:
    """The strategies the QC table shows applied (all defined ones before it exists)."""
    qc_path = Path(config["results_dir"]) / "group/fmri/desc-qc_runs.tsv"
    if not qc_path.is_file():
        return strategies
    used = set(pd.read_csv(qc_path, sep="\t", dtype=str)["strategy"])
    return {k: v for k, v in strategies.items() if k in used}


def methods_text(config: dict, manifest: dict) -> tuple[list[str], list[str]]:
    """Paragraphs describing what the fMRI stage did with this config, and references."""
    fmri = filled_section(config, "fmri")  # a partial config (tests) reads the schema's defaults
    versions = used_versions(config, ("numpy", "scipy", "pandas", "nibabel", "nilearn"))
    clean = fmri["clean"]
    strategies = _applied_strategies(config, fmri["strategies"])
    atlases = fmri["atlases"]
    strat_txt = "; ".join(_loader_text(name, s) for name, s in sorted(strategies.items()))
    paras = [
        f"fMRI runs were denoised and parcellated with neuroflow {__version__} (nilearn "
        f"{versions['nilearn']}, nibabel {versions['nibabel']}, numpy {versions['numpy']}, scipy "
        f"{versions['scipy']}). Runs were listed once in a run index built from "
        + ("a sample sheet" if fmri["sample_sheet"] else "")
        + (" and " if fmri["sample_sheet"] and config.get("derivatives") else "")
        + (
            "a pybids query of the BIDS-derivatives folders (fMRIPrep / XCP-D; every BIDS "
            "entity kept in the output names)"
            if config.get("derivatives")
            else ""
        )
        + ". The repetition time was cross-checked between the image header, the BOLD JSON "
        f"sidecar and the sample sheet (tolerance {fmri['t_r_tolerance']} s); images "
        "had to be 4D and finite, and confound tables had to have one row per volume.",
        "Confound regressors were chosen per strategy, with nilearn's "
        "load_confounds / load_confounds_strategy for fMRIPrep confounds (Wang et al. 2024) or "
        f"explicit columns of the provided table: {strat_txt}. Region signals were the mean over "
        "the voxels (the atlas resampled to the data grid by nearest neighbour with nilearn, as "
        "nilearn's NiftiLabelsMasker does), vertices or CIFTI-2 grayordinates (with a "
        "non-constant signal; CIFTI dlabel atlases matched to the series by structure and vertex "
        "/ voxel with nibabel) of each atlas label and were then cleaned with "
        "nilearn.signal.clean, as nilearn's maskers do"
        + _clean_text(clean, ":")
        + " (unless a strategy overrides them). Region extraction "
        "was computed once per run and atlas, confounds once per run and strategy.",
        "Censored volumes (scrubbing by framewise displacement and DVARS, non-steady-state "
        "volumes) were removed; a run was excluded and listed when fewer than "
        f"{fmri['min_fraction_kept']:.0%} of its volumes or less than "
        f"{fmri['min_minutes_kept']:g} min of data remained (after Parkes et al. 2018). "
        "QC per run: framewise displacement (Power et al. 2012; fMRIPrep's column or the six "
        "motion parameters with a 50 mm head radius), DVARS before and after cleaning, median "
        "temporal SNR, fraction of volumes kept, and carpet plots before and after denoising.",
    ]
    qc_path = Path(config["results_dir"]) / "group/fmri/desc-qc_runs.tsv"
    if qc_path.exists():
        qc = pd.read_csv(qc_path, sep="\t")
        n_runs = qc["stem"].nunique()
        n_excl = int(qc["excluded"].astype(str).str.lower().eq("true").sum())
        paras.append(
            f"{n_runs} runs were processed with {len(strategies)} strategies; "
            f"{n_excl} run x strategy combinations were excluded by the minimum-data rule."
        )
    index_path = Path(config["results_dir"]) / "group/fmri/desc-timeseries_index.tsv"
    if index_path.exists():
        index = pd.read_csv(index_path, sep="\t", dtype=str, keep_default_na=False)
        if "n_empty_regions" in index:
            n_empty = int((pd.to_numeric(index["n_empty_regions"], errors="coerce") > 0).sum())
            paras.append(
                "A region without signal in a run (no voxel / vertex, all n/a, or a "
                "constant signal such as a region outside the brain mask) was written as "
                "n/a, left out of that run's denoised series and dropped from every run "
                f"by the FC stage; {n_empty} run x atlas x strategy files had such empty "
                "regions (listed in each file's EmptyRegions)."
            )
    refs = [cite("nilearn"), cite("nibabel"), LOAD_CONFOUNDS, FMRIPREP, POWER, PARKES]
    if config.get("derivatives"):
        refs.append(cite("pybids"))
    if any("Schaefer" in str(a.get("left")) for a in atlases.values()):
        paras.append(
            "The Schaefer 2018 parcellations on fsaverage5 were resampled from the fs_LR "
            "32k labels shipped by BrainSpace with the HCP fs_LR-fsaverage spherical "
            "registration (nearest vertex on the sphere; resources/fmri/README.md)."
        )
        refs += [SCHAEFER, HCP_MESH]
    refs += [str(a["citation"]) for a in atlases.values() if a.get("citation")]
    for ds_id in sorted(fmri["datasets"]):
        refs.append(dataset_reference(manifest, ds_id))
    return paras, refs
