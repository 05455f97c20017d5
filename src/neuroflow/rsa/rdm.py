"""RDM estimation with rsatoolbox: run-wise GLM, noise normalisation, crossnobis.

With runs, each run's time series (time, voxel) is fitted with a GLM (nilearn design
matrix: one boxcar per condition convolved with the SPM HRF, cosine drift terms); the
condition betas of every run become the patterns and the GLM residuals of all runs give the
noise precision (rsatoolbox ``prec_from_residuals``, shrinkage towards the diagonal). The
RDM is then rsatoolbox's crossvalidated Mahalanobis distance (``crossnobis``) across runs:
unbiased (zero expected value for identical patterns; negative estimates are possible) and
expressed per voxel. Without runs, the correlation distance of the condition patterns is
used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def block_events(labels, tr: float, baseline: str = "rest") -> pd.DataFrame:
    """Events (onset, duration in s, trial_type) from one label per volume of one run.

    Consecutive volumes with the same label form a block; `baseline` blocks are left out.
    """
    labels = np.asarray(labels)
    rows, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if labels[start] != baseline:
                rows.append((start * tr, (i - start) * tr, str(labels[start])))
            start = i
    return pd.DataFrame(rows, columns=["onset", "duration", "trial_type"])


def runwise_glm(
    timeseries,
    labels,
    runs,
    tr: float,
    conditions,
    baseline: str = "rest",
    hrf_model: str = "spm",
    high_pass: float = 1 / 128,
):
    """Fit one GLM per run; return condition betas and residuals.

    Parameters
    ----------
    timeseries : ndarray, shape (n_volumes, n_voxels)
        BOLD signal; converted to percent signal change per run and voxel.
    labels, runs : array_like, shape (n_volumes,)
        Condition label and run of every volume.
    tr : float
        Repetition time in seconds.
    conditions : list of str
        Conditions whose betas are returned (each must occur in every run).
    hrf_model : str
        nilearn HRF model.
    high_pass : float
        Cosine drift cut-off in Hz.

    Returns
    -------
    betas : ndarray, shape (n_runs, n_conditions, n_voxels)
        Percent signal change per unit regressor.
    residuals : list of ndarray, each (n_volumes_in_run, n_voxels)
    dof : int
        Residual degrees of freedom summed over runs.
    run_ids : ndarray, shape (n_runs,)
    """
    from nilearn.glm.first_level import make_first_level_design_matrix

    timeseries = np.asarray(timeseries, dtype=float)
    labels, runs = np.asarray(labels), np.asarray(runs)
    run_ids = np.unique(runs)
    betas, residuals, dof = [], [], 0
    for run in run_ids:
        sel = runs == run
        y = timeseries[sel]
        mean = y.mean(axis=0)
        if (mean <= 0).any():
            raise ValueError(
                f"run {run}: {int((mean <= 0).sum())} voxel(s) with non-positive mean signal inside the mask"
            )
        y = 100.0 * (y / mean - 1.0)
        events = block_events(labels[sel], tr, baseline)
        missing = sorted(set(conditions) - set(events["trial_type"]))
        if missing:
            raise ValueError(f"run {run}: condition(s) {missing} never occur")
        frame_times = np.arange(sel.sum()) * tr
        design = make_first_level_design_matrix(
            frame_times, events, hrf_model=hrf_model, drift_model="cosine", high_pass=high_pass
        )
        x = design.to_numpy()
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        residuals.append(y - x @ coef)
        dof += len(y) - np.linalg.matrix_rank(x)
        cols = list(design.columns)
        betas.append(coef[[cols.index(c) for c in conditions]])
    return np.array(betas), residuals, int(dof), run_ids


def crossnobis_rdm(
    betas, conditions, run_ids, residuals=None, dof=None, noise_method: str = "shrinkage_diag"
):
    """Crossnobis RDM (rsatoolbox) of run-wise condition patterns.

    Parameters
    ----------
    betas : ndarray, shape (n_runs, n_conditions, n_channels)
    conditions : list of str
    run_ids : array_like, shape (n_runs,)
    residuals : list of ndarray (n_samples, n_channels), optional
        GLM residuals; without them no noise normalisation (crossvalidated Euclidean).
    dof : int, optional
        Residual degrees of freedom.
    noise_method : str
        rsatoolbox covariance estimator (``shrinkage_diag``, ``shrinkage_eye``, ``diag``).

    Returns
    -------
    rsatoolbox.rdm.RDMs
        One RDM; conditions in rsatoolbox's (sorted) order in ``pattern_descriptors["conds"]``.
    """
    from rsatoolbox.data import Dataset
    from rsatoolbox.data.noise import prec_from_residuals
    from rsatoolbox.rdm import calc_rdm

    n_runs, n_cond, n_chan = betas.shape
    if n_runs < 2:
        raise ValueError("crossnobis needs at least 2 runs")
    noise = None
    if residuals is not None:
        noise = prec_from_residuals(np.concatenate(residuals), dof=dof, method=noise_method)
    ds = Dataset(
        betas.reshape(n_runs * n_cond, n_chan),
        obs_descriptors={
            "conds": np.tile(np.asarray(conditions), n_runs),
            "runs": np.repeat(np.asarray(run_ids), n_cond),
        },
    )
    with np.errstate(invalid="ignore"):  # rsatoolbox casts NaN into the integer run labels
        return calc_rdm(ds, method="crossnobis", descriptor="conds", cv_descriptor="runs", noise=noise)


def correlation_rdm(patterns, conditions):
    """Correlation-distance RDM (rsatoolbox) of condition patterns (n_conditions, n_channels)."""
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    ds = Dataset(np.asarray(patterns, dtype=float), obs_descriptors={"conds": np.asarray(conditions)})
    return calc_rdm(ds, method="correlation", descriptor="conds")


def rdm_square(vector) -> np.ndarray:
    """Square symmetric matrix of an RDM vector (zero diagonal)."""
    from scipy.spatial.distance import squareform

    return squareform(np.asarray(vector, dtype=float), checks=False)


def crossnobis_vector(betas, conditions, run_ids, residuals, dof, noise_method: str) -> np.ndarray:
    """The RDM vector of :func:`crossnobis_rdm`, after checking rsatoolbox kept the order of
    ``conditions`` (its pairs are labelled in that order)."""
    cn = crossnobis_rdm(betas, conditions, run_ids, residuals, dof, noise_method)
    order = [str(c) for c in cn.pattern_descriptors["conds"]]
    if order != conditions:
        raise RuntimeError(f"rsatoolbox reordered the conditions: {order}")
    return cn.get_vectors()[0]


def _pair_coords(conditions) -> dict:
    """``pair``, ``condition`` and the conditions of every pair (upper triangle)."""
    iu = np.triu_indices(len(conditions), k=1)
    cond = np.array(conditions)
    return {
        "pair": np.arange(len(iu[0])),
        "condition": cond,
        "condition_i": ("pair", cond[iu[0]]),
        "condition_j": ("pair", cond[iu[1]]),
    }


CROSSNOBIS_UNITS = "squared Mahalanobis distance per voxel (crossnobis, unbiased; can be negative)"


def haxby_rdm_dataset(crossnobis, correlation, betas, conditions, run_ids, voxels, noise_method: str):
    """The Haxby RDM Dataset: ``rdm`` and ``rdm_correlation`` (pair), ``beta`` (run,
    condition, voxel) with their coordinates and units (no global attributes)."""
    import xarray as xr

    ds = xr.Dataset(
        {
            "rdm": (("pair",), crossnobis),
            "rdm_correlation": (("pair",), correlation),
            "beta": (("run", "condition", "voxel"), betas),
        },
        coords={
            **_pair_coords(conditions),
            "run": run_ids,
            "voxel": np.arange(len(voxels)),
            "voxel_ijk": (("voxel", "axis"), voxels),
            "axis": ["i", "j", "k"],
        },
    )
    ds["rdm"].attrs.update(
        units=CROSSNOBIS_UNITS,
        description="rsatoolbox calc_rdm(method='crossnobis', "
        "cv_descriptor='runs'), noise precision from GLM "
        f"residuals ({noise_method})",
    )
    ds["rdm_correlation"].attrs.update(
        units="1 - Pearson r", description="correlation distance of the run-averaged betas"
    )
    ds["beta"].attrs.update(units="percent signal change per unit regressor")
    return ds


def region_crossnobis(
    patterns, residuals, dof: int, columns: dict, conditions, noise_method: str, min_voxels: int, notes: list
):
    """Crossnobis RDM of every region, the runs as folds.

    Parameters
    ----------
    patterns : ndarray, shape (n_runs, n_conditions, n_voxels)
    residuals : list of ndarray, each shape (n_volumes, n_voxels)
    dof : int
        Residual degrees of freedom of all runs together.
    columns : list of (str, ndarray of int)
        Every region's name and its voxel columns of ``patterns``.
    notes : list
        A region with fewer than ``min_voxels`` voxels gets a note here and NaN distances.

    Returns
    -------
    rdm : ndarray, shape (n_regions, n_pairs)
    n_voxels : ndarray of int, shape (n_regions,)
    """
    n_pairs = len(conditions) * (len(conditions) - 1) // 2
    rdm = np.full((len(columns), n_pairs), np.nan)
    n_vox = np.zeros(len(columns), dtype=int)
    folds = np.arange(len(patterns))
    for k, (name, cols) in enumerate(columns):
        n_vox[k] = len(cols)
        if len(cols) < min_voxels:
            notes.append(f"region {name}: {len(cols)} voxel(s) inside the masks; RDM is NaN")
            continue
        rdm[k] = crossnobis_vector(
            patterns[:, :, cols], conditions, folds, [x[:, cols] for x in residuals], dof, noise_method
        )
    return rdm, n_vox


def region_rdm_dataset(rdm, n_voxels, regions, conditions, folds, noise_method: str):
    """The Dataset of :func:`region_crossnobis`: ``rdm`` (region, pair), ``n_voxels``
    (region); ``regions`` is ``[(index, name)]``, ``folds`` the names of the runs' files."""
    import xarray as xr

    ds = xr.Dataset(
        {"rdm": (("region", "pair"), rdm), "n_voxels": (("region",), n_voxels)},
        coords={
            "region": [n for _, n in regions],
            "region_index": ("region", [i for i, _ in regions]),
            **_pair_coords(conditions),
            "fold": list(folds),
        },
    )
    ds["rdm"].attrs.update(
        units=CROSSNOBIS_UNITS,
        description="rsatoolbox calc_rdm(method='crossnobis', "
        "cv_descriptor=runs), noise precision per region from "
        f"the GLM residuals of all runs ({noise_method})",
    )
    ds["n_voxels"].attrs.update(description="voxels of the region inside every run's mask")
    return ds
