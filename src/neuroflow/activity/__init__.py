"""Neural-activity homogenization and the structure-function link (Simeon et al. 2024, part 2).

Modules
-------
readers
    NWB (fluorescence, deconvolved traces, units), suite2p folders, CNMF-E in NWB and plain
    TSV/CSV tables, all returning one labelled structure (``traces(time, neuron)``).
resample
    Anti-aliased resampling to one common step, gap/NaN handling, smoothing, normalization.
homogenize
    Label mapping to the canonical neuron list shared with the connectomes, and the whole
    per-recording homogenization.
funatlas
    The Randi et al. 2023 signal-propagation atlas (``funatlas.h5``) in the canonical order.
structure
    How well anatomical connectomes predict signal propagation (AUROC with bootstrap CI,
    rank correlation, multi-hop reachability) and per-recording functional connectivity.
"""
