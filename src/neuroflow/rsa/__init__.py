"""Topological RSA (Lin & Kriegeskorte 2023): geo-topological summaries of RDMs.

Modules
-------
transforms
    Rank normalisation, the geo-topological (RGTM) and geodesic (RGDM) transforms, the
    (lower, upper) grid and the five families of statistics (exact pruned shortest paths
    in ``_geodesic``, numba).
rdm
    RDM estimation with rsatoolbox: run-wise GLM, noise normalisation, crossnobis.
identification
    Leave-one-subject-out nearest-centroid identification and its bootstrap (also from
    weighted Gram matrices, for thousands of draws).
noise
    The authors' pooled RDM noise and the sensitivity models (per-RDM scaled, activations).
claims, claims_table
    The paper's family comparison at every noise level: contrast, nulls, power, held-out
    (l, u) choice, and the claim table with its verdict.
models
    Category model RDMs and rsatoolbox model comparison per statistic.
networks
    The simulated network instances (torch) and their layer RDMs.
headdirection
    Head-direction tuning curves (the activity stage's units file) and their RDM.
inputs
    What the rule files import (cheap): the plan of the task-fMRI route.
settings
    Frozen settings built from the validated config, and the config checks.
readers, outputs
    The RDM-stack reader; what every output shares (packages, columns, NetCDF writer).
taskfmri, haxby_bids
    The task-fMRI route (GLM per run, region crossnobis RDMs, group stack); the Haxby
    demo as a BIDS tree for that route.
pipeline
    File-in, file-out functions called by the workflow's scripts.
"""
