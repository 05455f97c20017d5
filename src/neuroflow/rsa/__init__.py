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
    Head-direction tuning curves (NWB) and their ring-shaped RDM.
pipeline
    File-in, file-out functions called by the workflow's scripts.
"""
