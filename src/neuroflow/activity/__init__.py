"""Neural-activity homogenization and the structure-function link (Simeon et al. 2024, part 2).

Modules
-------
readers
    NWB (fluorescence, deconvolved traces, units), suite2p folders, CNMF-E in NWB and plain
    TSV/CSV/NetCDF tables, all returning one labelled structure (``traces(time, neuron)``);
    ``read_nwb_units``: the spike trains, locations, epochs and head angle of a units table.
    The NWB readers sit in ``nwb``, the structure they all return (and their error) in
    ``recording``.
spikes
    Spike counts binned at a requested width from spike times, and counts tables: the
    standardized counts file (``counts(time, neuron)``, spikes/bin) later stages read.
inputs
    Which spike / trace recordings the stage reads (``activity.spikes``; NWB files of
    ``bids_dir`` with ``activity.bids``) and their BIDS-derivatives output names (cheap).
resample
    Anti-aliased resampling to one common step, gap/NaN handling, smoothing, normalization.
neuron_labels
    Label mapping to the canonical neuron list shared with the connectomes (and the
    seeded slots of unlabelled neurons).
homogenize
    The whole per-recording homogenization (labels, common grid, smoothing, normalization).
funatlas
    The Randi et al. 2023 signal-propagation atlas (``funatlas.h5``) in the canonical order.
structure
    How well anatomical connectomes predict signal propagation (AUROC with bootstrap CI,
    rank correlation, multi-hop reachability) and per-recording functional connectivity.
"""
