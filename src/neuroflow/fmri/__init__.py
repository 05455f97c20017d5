"""fMRI preprocessing: fMRIPrep derivatives (volumes at any ``res-``, fsaverage GIfTI pairs,
CIFTI-2 ``dtseries``) or ready region time series (XCP-D ``*_timeseries.tsv``, a sample
sheet) to denoised, parcellated region time series.

Modules: :mod:`~neuroflow.fmri.inputs` (what rule files import: the run index of a config,
checked before any job), :mod:`~neuroflow.fmri.index` (run index from a sample sheet and the
cohort's derivatives, queried with pybids through :mod:`neuroflow.bids`),
:mod:`~neuroflow.fmri.checks` (the index's files, strategies and atlases checked per run),
:mod:`~neuroflow.fmri.images` (reading and checking BOLD files),
:mod:`~neuroflow.fmri.runio` (a run's inputs and the stage's tables, read back),
:mod:`~neuroflow.fmri.parcellate` (region signals of a run and an atlas, empty regions),
:mod:`~neuroflow.fmri.confounds` (nilearn strategies, censoring, minimum-data rule, FD,
DVARS, tSNR), :mod:`~neuroflow.fmri.signals` (parcellation, ``nilearn.signal.clean``),
:mod:`~neuroflow.fmri.atlases` (surface atlases, space checks), :mod:`~neuroflow.fmri.qc`
(carpet plots), :mod:`~neuroflow.fmri.pipeline` (one function per step),
:mod:`~neuroflow.fmri.runjob` (the steps of one run, one job),
:mod:`~neuroflow.fmri.methods`.

File schema (what later stages read)
------------------------------------
Start from ``<results>/group/fmri/desc-timeseries_index.tsv`` (+ ``.json``): one row per
run x atlas x strategy with columns ``path`` (relative to the results directory), ``sub``,
``ses``, ``task``, ``acq``, ``run``, ``space``, ``res``, ``den``, ``atlas``, ``strategy``, ``t_r`` (s),
``n_regions``, ``n_empty_regions``, ``n_volumes_kept``, ``fraction_kept``, ``excluded``
(bool), ``exclusion_reason``. Skip rows with ``excluded`` True. Label columns (``sub``,
``ses``, ...) are strings: read them with ``dtype=str, keep_default_na=False`` (``010188``
is not ``10188``).

Each ``path`` is
``<results>/sub-<sub>/[ses-<ses>/]func/<run stem>_atlas-<atlas>_desc-<strategy>_timeseries.tsv``,
where the run stem carries every entity of the input in BIDS order
(``sub-<sub>[_ses-][_task-][_acq-][_ce-][_rec-][_dir-][_run-][_echo-][_space-][_res-][_den-][_seg-]``;
``seg-`` for XCP-D region time series, whose atlas it names):

* TSV, tab-separated, header = region names (atlas labels, in label order), one row per
  *kept* volume (censored volumes removed), float values with 10 significant digits. With the
  default ``standardize: zscore_sample`` each column has mean 0 and SD 1; otherwise the data's
  units. An excluded run has the header and no rows.
* JSON sidecar (same name, ``.json``): ``RepetitionTime`` (s), ``SamplingFrequency`` (Hz),
  ``Atlas``, ``Space``, ``Strategy``, ``Loader``, ``LoaderOptions``, ``Regressors`` (names),
  ``NRegressors``, ``CleanParameters`` (detrend, standardize, standardize_confounds, filter,
  low_pass, high_pass in Hz), ``NVolumes`` (before censoring), ``VolumesKept`` (0-based indices
  of the rows into the original series: use them for timing, the rows are not equally spaced
  when volumes were censored), ``DroppedVolumes``, ``NVolumesKept``, ``FractionKept``,
  ``Excluded``, ``ExclusionReason``, ``RegionNUnits`` (voxels / vertices per region; null for
  ready time series), ``EmptyRegions`` / ``EmptyRegionReasons`` (regions without signal in
  this run -- no voxel / vertex, all n/a, or constant, e.g. outside the brain mask: left out
  of the header, and dropped from every run by the FC stage, which records it),
  ``Extraction``, ``RepetitionTimeSource``, ``Sources``, ``SoftwareVersions``,
  ``Description``.

Intermediate files next to them: ``..._atlas-<atlas>_desc-raw_timeseries.tsv`` (region means
of every volume, not denoised; an empty region is a column of n/a, never a constant; sidecar
with ``SourcesSha256``, ``EmptyRegions``),
``..._desc-<strategy>_regressors.tsv`` (the regressors used, every volume; sidecar with
``VolumesKept``, ``FramewiseDisplacement`` in mm, ``DroppedRegressors``: constant columns
left out; an all-zero regressor is an error), ``..._desc-qc_bold.tsv`` (QC, one row per
strategy), ``figures/..._desc-carpet_bold.png`` and ``figures/..._desc-qc_bold.png`` (QC
panels). One QC page per subject: ``sub-<label>/figures/sub-<label>_desc-fmri_report.html``.
Group files under ``group/fmri/``: ``desc-runs_index.tsv`` (the input index),
``desc-qc_runs.tsv``, ``desc-excluded_runs.tsv``, ``desc-timeseries_index.tsv``,
``desc-qc_report.html`` (group QC page, outlier runs flagged).
"""
