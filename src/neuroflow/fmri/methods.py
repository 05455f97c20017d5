"""Methods paragraph of the fMRI preprocessing stage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neuroflow import __version__
from neuroflow.provenance import package_versions
from neuroflow.resources import dataset_citation

NILEARN = ("Abraham A, Pedregosa F, Eickenberg M, et al. (2014). Machine learning for "
           "neuroimaging with scikit-learn. Front Neuroinform 8:14 (nilearn).")
FMRIPREP = ("Esteban O, Markiewicz CJ, Blair RW, et al. (2019). fMRIPrep: a robust preprocessing "
            "pipeline for functional MRI. Nat Methods 16:111-116.")
LOAD_CONFOUNDS = ("Wang HT, Meisler SL, Sharmarke H, et al. (2024). Continuous evaluation of "
                  "denoising strategies in resting-state fMRI connectivity using fMRIPrep and "
                  "Nilearn. PLoS Comput Biol 20:e1011942.")
POWER = ("Power JD, Barnes KA, Snyder AZ, Schlaggar BL, Petersen SE (2012). Spurious but "
         "systematic correlations in functional connectivity MRI networks arise from subject "
         "motion. NeuroImage 59:2142-2154.")
PARKES = ("Parkes L, Fulcher B, Yucel M, Fornito A (2018). An evaluation of the efficacy, "
          "reliability, and sensitivity of motion correction strategies for resting-state "
          "functional MRI. NeuroImage 171:415-436.")
SCHAEFER = ("Schaefer A, Kong R, Gordon EM, et al. (2018). Local-global parcellation of the human "
            "cerebral cortex from intrinsic functional connectivity MRI. Cereb Cortex 28:3095-3114.")
HCP_MESH = ("Van Essen DC, Glasser MF, Dierker DL, Harwell J, Coalson T (2012). Parcellations and "
            "hemispheric asymmetries of human cerebral cortex analyzed on surface-based atlases. "
            "Cereb Cortex 22:2241-2262 (fs_LR / fsaverage registration).")


def _fmt(v) -> str:
    return "none" if v is None else str(v)


def methods_text(config: dict, manifest: dict) -> tuple[list[str], list[str]]:
    """Paragraphs describing what the fMRI stage did with this config, and references."""
    fmri = config["fmri"]
    versions = package_versions(("numpy", "scipy", "pandas", "nibabel", "nilearn"))
    clean = fmri.get("clean", {})
    strategies = fmri.get("strategies", {})
    atlases = fmri.get("atlases", {})
    strat_txt = "; ".join(
        f"'{name}': loader {s['loader']}"
        + (f" with options {s['options']}" if s.get("options") else "")
        + "".join(f", {k} {_fmt(s[k])}" for k in ("low_pass", "high_pass", "standardize", "detrend")
                  if k in s)
        for name, s in sorted(strategies.items()))
    paras = [
        f"fMRI runs were denoised and parcellated with neuroflow {__version__} (nilearn "
        f"{versions['nilearn']}, nibabel {versions['nibabel']}, numpy {versions['numpy']}, scipy "
        f"{versions['scipy']}). Runs were listed once in a run index built from "
        + ("a sample sheet" if fmri.get("sample_sheet") else "")
        + (" and " if fmri.get("sample_sheet") and config.get("derivatives") else "")
        + ("a pybids query of the BIDS-derivatives folders (fMRIPrep / XCP-D; every BIDS "
           "entity kept in the output names)" if config.get("derivatives") else "")
        + ". The repetition time was cross-checked between the image header, the BOLD JSON "
        f"sidecar and the sample sheet (tolerance {fmri.get('t_r_tolerance', 0.001)} s); images "
        "had to be 4D and finite, and confound tables had to have one row per volume.",
        "Confound regressors were chosen per strategy, with nilearn's "
        "load_confounds / load_confounds_strategy for fMRIPrep confounds (Wang et al. 2024) or "
        f"explicit columns of the provided table: {strat_txt}. Region signals were the mean over "
        "the voxels (the atlas resampled to the data grid by nearest neighbour with nilearn, as "
        "nilearn's NiftiLabelsMasker does), vertices or CIFTI-2 grayordinates (with a "
        "non-constant signal; CIFTI dlabel atlases matched to the series by structure and vertex "
        "/ voxel with nibabel) of each atlas label and were then cleaned with "
        "nilearn.signal.clean, as nilearn's maskers do: "
        f"detrend {_fmt(clean.get('detrend', True))}, confounds standardized "
        f"{_fmt(clean.get('standardize_confounds', True))}, {clean.get('filter', 'butterworth')} "
        f"filter with low-pass {_fmt(clean.get('low_pass'))} Hz and high-pass "
        f"{_fmt(clean.get('high_pass'))} Hz unless a strategy overrides them, standardization "
        f"{_fmt(clean.get('standardize', 'zscore_sample'))}. Region extraction was computed once "
        "per run and atlas, confounds once per run and strategy.",
        "Censored volumes (scrubbing by framewise displacement and DVARS, non-steady-state "
        "volumes) were removed; a run was excluded and listed when fewer than "
        f"{fmri.get('min_fraction_kept', 0.5):.0%} of its volumes or less than "
        f"{fmri.get('min_minutes_kept', 4.0):g} min of data remained (after Parkes et al. 2018). "
        "QC per run: framewise displacement (Power et al. 2012; fMRIPrep's column or the six "
        "motion parameters with a 50 mm head radius), DVARS before and after cleaning, median "
        "temporal SNR, fraction of volumes kept, and carpet plots before and after denoising.",
    ]
    qc_path = Path(config["results_dir"]) / "group/fmri/desc-qc_runs.tsv"
    if qc_path.exists():
        qc = pd.read_csv(qc_path, sep="\t")
        n_runs = qc["stem"].nunique()
        n_excl = int(qc["excluded"].astype(str).str.lower().eq("true").sum())
        paras.append(f"{n_runs} runs were processed with {len(strategies)} strategies defined; "
                     f"{n_excl} run x strategy combinations were excluded by the minimum-data rule.")
    index_path = Path(config["results_dir"]) / "group/fmri/desc-timeseries_index.tsv"
    if index_path.exists():
        index = pd.read_csv(index_path, sep="\t", dtype=str, keep_default_na=False)
        if "n_empty_regions" in index:
            n_empty = int((pd.to_numeric(index["n_empty_regions"], errors="coerce") > 0).sum())
            paras.append("A region without signal in a run (no voxel / vertex, all n/a, or a "
                         "constant signal such as a region outside the brain mask) was written as "
                         "n/a, left out of that run's denoised series and dropped from every run "
                         f"by the FC stage; {n_empty} run x atlas x strategy files had such empty "
                         "regions (listed in each file's EmptyRegions).")
    refs = [NILEARN, LOAD_CONFOUNDS, FMRIPREP, POWER, PARKES]
    if any("Schaefer" in str(a.get("left", "")) for a in atlases.values()):
        paras.append("The Schaefer 2018 parcellations on fsaverage5 were resampled from the fs_LR "
                     "32k labels shipped by BrainSpace with the HCP fs_LR-fsaverage spherical "
                     "registration (nearest vertex on the sphere; resources/fmri/README.md).")
        refs += [SCHAEFER, HCP_MESH]
    refs += [str(a["citation"]) for a in atlases.values() if a.get("citation")]
    for ds_id in sorted(fmri.get("datasets", [])):
        refs.append(dataset_citation(manifest, ds_id))
    return paras, refs
