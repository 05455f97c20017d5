"""Descriptions and units of the FC stage's tables and NetCDF variables (output schema)."""

from __future__ import annotations

VARIABLES = {
    "timeseries": ("BOLD window (region x volume)", "1"),
    "sample": ("sample (sliding window)", "1"),
    "region": ("region", "1"),
    "subject": ("subject", "1"),
    "sample_subject": ("subject of the sample", "1"),
    "run": ("run of the sample", "1"),
    "start": ("first volume of the window (0-based)", "1"),
    "t_r": ("repetition time", "s"),
    "cohort": ("dataset / cohort", "1"),
    "label": ("group label of the subject ('' if none)", "1"),
    "structural": ("structural connectome of the subject (NaN: none)", "1"),
    "volume": ("volume within the window", "1"),
    "time": ("volume within the window", "1"),
    "fc": ("FC matrix [source, target] per operator and sample; diagonal unused", "1"),
    "operator": ("FC operator", "1"),
    "source": ("source region", "1"),
    "target": ("target region", "1"),
    "family": ("operator family", "1"),
    "directed": ("1 = directed operator", "1"),
    "signed": ("1 = signed operator", "1"),
    "description": ("what the operator computes", "1"),
    "library": ("library of the operator", "1"),
    "sps": (
        "Structural Perturbation Score (Frobenius norm of the learned structure A, model "
        "units); inf = seen fewer than twice",
        "1",
    ),
    "appearances": ("times the sample was drawn in training", "count"),
    "loss": ("mean training loss per epoch (contrastive + sparsity)", "1"),
    "delta": ("mean ||A(e+1) - A(e)||_F of the samples drawn in the epoch", "1"),
    "train_seed": ("SCLCS training seed", "1"),
    "epoch": ("training epoch", "1"),
    "selected": ("1 if the sample is in the core-set", "1"),
    "heldout": ("1 if the sample is in the fixed held-out set (never selectable)", "1"),
    "selector": ("core-set selector", "1"),
    "fraction": ("core-set size as a fraction of the selection pool", "1"),
    "seed": ("selector seed", "1"),
}


def variables_of(ds) -> dict:
    """The :data:`VARIABLES` entries that ``ds`` has, keeping long_names already set."""
    return {
        k: (ds[k].attrs.get("long_name") or text, units)
        for k, (text, units) in VARIABLES.items()
        if k in ds.variables
    }


SAMPLE_COLUMNS = {
    "sample": "window id",
    "subject": "subject id",
    "run": "run id",
    "start": "first volume (0-based)",
    "t_r": {"Description": "repetition time", "Units": "s"},
    "cohort": "dataset / cohort",
    "label": "group label (empty if none)",
}
SUBJECT_COLUMNS = {
    "subject": "subject id",
    "cohort": "dataset / cohort",
    "label": "group label (empty if none)",
    "n_windows": {"Description": "windows (samples) of the subject", "Units": "count"},
    "has_structural": "structural connectome available",
    "coupling": {"Description": "simulated global coupling G", "Units": "1"},
    "noise": {"Description": "simulated noise sigma", "Units": "1"},
    "bifurcation_mean": {"Description": "mean simulated Hopf bifurcation parameter", "Units": "1"},
    "template": "index of the real structural connectome used",
}
SELECTION_COLUMNS = {
    "selector": "core-set selector",
    "fraction": {"Description": "core-set size as a fraction of the selection pool", "Units": "1"},
    "seed": "selector seed",
    "k": {"Description": "core-set size", "Units": "count"},
    "n_subjects": {"Description": "distinct subjects in the core-set", "Units": "count"},
}
EVALUATION_COLUMNS = {
    "selector": "core-set selector",
    "task": "downstream task",
    "fraction": {"Description": "core-set size as a fraction of the selection pool", "Units": "1"},
    "seed": "selector seed",
    "k": {"Description": "core-set size", "Units": "count"},
    "unit": "independent unit: the seed, or the SCLCS training an SPS-based selector used",
    "n_seeds": {"Description": "seeds", "Units": "count"},
    "operator": "operator name",
}
