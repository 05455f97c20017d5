"""Confound regressors and volume censoring for one run and one denoising strategy.

Strategies come from nilearn (``load_confounds_strategy``: simple, scrubbing, compcor,
ica_aroma; ``load_confounds``: any list of components), or from explicit columns of a
confounds table (fMRIPrep TSV with a header, or a plain numeric matrix), or none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

NILEARN_STRATEGIES = ("simple", "scrubbing", "compcor", "ica_aroma")
LOADERS = (*NILEARN_STRATEGIES, "custom", "columns", "none")
MOTION6 = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
HEAD_RADIUS_MM = 50.0
#: options of loader ``columns`` and what each absent one means (the schema leaves a
#: strategy's ``options`` free-form, so this is their only default)
COLUMNS_OPTIONS = {"columns": [], "drop_non_steady_state": True, "fd_threshold": None}


@dataclass
class Confounds:
    """Regressors and kept volumes of one run under one strategy.

    Attributes
    ----------
    regressors : DataFrame, shape (n_volumes, n_regressors)
    sample_mask : ndarray of int, shape (n_kept,)
        Indices of the volumes kept (all volumes when nothing is censored).
    n_volumes : int
    fd : ndarray, shape (n_volumes,) or None
        Framewise displacement (mm), when the confounds allow it.
    excluded : bool
    reason : str
    """

    regressors: pd.DataFrame
    sample_mask: np.ndarray
    n_volumes: int
    fd: np.ndarray | None = None
    excluded: bool = False
    reason: str = ""
    notes: list = field(default_factory=list)

    @property
    def dropped(self) -> list[int]:
        return sorted(set(range(self.n_volumes)) - set(self.sample_mask.tolist()))


def read_confounds_table(path: str, fmt: str = "fmriprep") -> pd.DataFrame:
    """Read a confounds table: fMRIPrep TSV (header, ``n/a``) or a plain numeric matrix.

    A plain matrix (``fmt="matrix"``, whitespace-separated, no header) gets the column names
    ``c01``, ``c02``, ...
    """
    try:
        if fmt == "matrix":
            arr = np.loadtxt(path, ndmin=2)
            return pd.DataFrame(arr, columns=[f"c{i + 1:02d}" for i in range(arr.shape[1])])
        return pd.read_csv(path, sep="\t", na_values=["n/a", "NaN", "nan"])
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"confounds file {path}: cannot read ({fmt}): {exc}") from exc


def check_confounds_table(table: pd.DataFrame, path: str, n_volumes: int, bold: str) -> None:
    """Rows must equal the run's volumes; NaN only in the first row (derivatives, FD, DVARS).

    Raises
    ------
    ValueError
        Naming the confounds file, the image and the problem.
    """
    if len(table) != n_volumes:
        raise ValueError(
            f"confounds file {path} has {len(table)} rows but {bold} has "
            f"{n_volumes} volumes: they must match one to one"
        )
    nan = table.iloc[1:].isna().any()
    if nan.any():
        cols = nan[nan].index.tolist()
        raise ValueError(
            f"confounds file {path}: NaN / n/a after the first row in column(s) "
            f"{cols[:8]}{' ...' if len(cols) > 8 else ''}"
        )


def framewise_displacement(table: pd.DataFrame) -> np.ndarray | None:
    """Power et al. (2012) FD in mm: fMRIPrep's column, or from the six motion parameters.

    Rotations (radians) become arc length on a 50 mm sphere. The first volume's FD is 0.
    """
    if "framewise_displacement" in table:
        return table["framewise_displacement"].fillna(0.0).to_numpy(dtype=np.float64)
    if all(c in table for c in MOTION6):
        motion = table[list(MOTION6)].to_numpy(dtype=np.float64).copy()
        motion[:, 3:] *= HEAD_RADIUS_MM
        return np.concatenate([[0.0], np.abs(np.diff(motion, axis=0)).sum(axis=1)])
    return None


def _columns(table: pd.DataFrame, columns, path: str) -> pd.DataFrame:
    if not columns:
        return table.copy()
    missing = [c for c in columns if c not in table]
    if missing:
        raise ValueError(
            f"confounds file {path}: no column(s) {missing}; it has {list(table.columns)[:12]}..."
        )
    return table[list(columns)].copy()


def strategy_confounds(
    bold_files,
    confounds_path: str,
    confounds_format: str,
    n_volumes: int,
    strategy: dict,
    bold_label: str = "",
) -> Confounds:
    """Regressors and sample mask of one run under one strategy.

    Parameters
    ----------
    bold_files : str or [str, str]
        The BOLD image (or the left/right GIfTI pair) that nilearn uses to find the fMRIPrep
        confounds next to it.
    confounds_path, confounds_format : str
        The confounds table and its format (``fmriprep`` or ``matrix``); may be empty for
        ``loader: none``.
    n_volumes : int
    strategy : dict
        ``loader`` (one of :data:`LOADERS`), ``options`` (keyword arguments for nilearn, or
        ``columns`` / ``fd_threshold`` / ``drop_non_steady_state`` for ``columns``).

    Returns
    -------
    Confounds
    """
    loader = strategy["loader"]  # required by the schema
    options = dict(strategy.get("options") or {})
    label = bold_label or str(bold_files)
    table = None
    if confounds_path:
        table = read_confounds_table(confounds_path, confounds_format or "fmriprep")
        check_confounds_table(table, confounds_path, n_volumes, label)
    elif loader != "none":
        raise ValueError(f"{label}: strategy loader {loader!r} needs a confounds file, and the run has none")
    fd = framewise_displacement(table) if table is not None else None
    mask = np.arange(n_volumes)
    if loader in NILEARN_STRATEGIES or loader == "custom":
        regs, sm = _nilearn_confounds(
            bold_files, loader, options, confounds_path, confounds_format, label, n_volumes
        )
        if sm is not None:
            mask = np.asarray(sm, dtype=int)
    elif loader == "columns":
        regs, mask = _column_confounds(table, options, confounds_path, fd, n_volumes)
    elif loader == "none":
        regs = pd.DataFrame(index=range(n_volumes))
    else:
        raise ValueError(f"unknown strategy loader {loader!r}; choose one of {LOADERS}")
    regs = regs.reset_index(drop=True)
    if len(regs) != n_volumes:
        raise ValueError(f"{label}: {len(regs)} regressor rows for {n_volumes} volumes")
    regs, notes = check_regressors(regs, confounds_path or label, loader)
    return Confounds(regs, mask, n_volumes, fd, notes=notes)


def _nilearn_confounds(bold_files, loader, options, confounds_path, confounds_format, label, n_volumes):
    """Regressors and sample mask (or None) from nilearn's fMRIPrep confound loaders."""
    if confounds_format != "fmriprep":
        raise ValueError(
            f"{confounds_path}: nilearn's loaders need an fMRIPrep confounds TSV "
            f"next to the image, not a {confounds_format!r} table"
        )
    from nilearn.interfaces.fmriprep import load_confounds, load_confounds_strategy

    try:
        if loader == "custom":
            options.setdefault("strategy", ("motion", "high_pass", "wm_csf"))
            options["strategy"] = tuple(options["strategy"])
            regs, sm = load_confounds(bold_files, **options)
        else:
            regs, sm = load_confounds_strategy(bold_files, denoise_strategy=loader, **options)
    except ValueError as exc:
        raise ValueError(
            f"{label}: nilearn could not load confounds ({loader}) from {confounds_path}: {exc}"
        ) from exc
    regs = regs if regs is not None else pd.DataFrame(index=range(n_volumes))
    return regs, sm


def _column_confounds(table, options, confounds_path, fd, n_volumes):
    """Regressors and kept volumes of loader ``columns``: named columns, non-steady-state
    volumes dropped, FD censoring."""
    options = {**COLUMNS_OPTIONS, **options}
    regs = _columns(table, options["columns"] or [], confounds_path).fillna(0.0)
    keep = np.ones(n_volumes, bool)
    if options["drop_non_steady_state"]:
        for col in [c for c in table.columns if c.startswith("non_steady_state_outlier")]:
            keep &= table[col].to_numpy() == 0
            regs = regs.drop(columns=[col], errors="ignore")
    if options["fd_threshold"] is not None:
        if fd is None:
            raise ValueError(
                f"confounds file {confounds_path}: fd_threshold set but no "
                "framewise_displacement or motion columns to compute it"
            )
        keep &= fd <= float(options["fd_threshold"])
    return regs, np.flatnonzero(keep)


def check_regressors(regs: pd.DataFrame, path: str, loader: str = "") -> tuple[pd.DataFrame, list]:
    """Refuse all-zero regressors; drop (and record) constant ones.

    A regressor that is zero in every volume (e.g. ``white_matter`` / ``csf`` of a
    confounds file whose masks were empty) means the confounds file is broken: the
    strategy would silently not remove what it claims to. A constant non-zero regressor
    only duplicates the mean that detrending / standardization removes: it is dropped and
    the drop recorded.

    Parameters
    ----------
    regs : DataFrame, shape (n_volumes, n_regressors)
    path : str
        The confounds file (for the message).

    Returns
    -------
    regs : DataFrame
        Without the constant columns.
    notes : list of str
        One line per dropped column.

    Raises
    ------
    ValueError
        Naming the confounds file and the all-zero column(s).
    """
    if not regs.shape[1]:
        return regs, []
    values = regs.to_numpy(dtype=np.float64)
    zero = [c for c, col in zip(regs.columns, values.T) if np.all(col == 0)]
    if zero:
        raise ValueError(
            f"confounds file {path}: regressor column(s) {zero[:8]} are zero in every "
            f"volume (strategy loader {loader!r}); a broken confounds file (empty "
            "tissue mask?) - fix the file or choose a strategy without them "
            "(fmri.strategies.<name>.options)"
        )
    const = [c for c, col in zip(regs.columns, values.T) if np.ptp(col) == 0]
    notes = [
        f"{c}: constant ({float(regs[c].iloc[0]):g}) in every volume; dropped (it only duplicates the mean)"
        for c in const
    ]
    for note in notes:
        print(f"WARNING: confounds file {path}: regressor {note}")
    return regs.drop(columns=const), notes


def apply_minimum_data_rule(
    conf: Confounds, t_r: float, min_fraction: float, min_minutes: float
) -> Confounds:
    """Mark a run excluded when too little clean data remains after censoring.

    A run is excluded when the fraction of volumes kept is below ``min_fraction`` or the
    kept data last less than ``min_minutes`` (kept volumes x TR), or when there are fewer
    volumes kept than regressors + 2 (the regression would be degenerate).
    """
    kept = len(conf.sample_mask)
    frac = kept / conf.n_volumes
    minutes = kept * t_r / 60.0
    reasons = []
    if frac < min_fraction:
        reasons.append(f"{frac:.1%} of volumes kept < {min_fraction:.0%}")
    if minutes < min_minutes:
        reasons.append(f"{minutes:.2f} min of data kept < {min_minutes:g} min")
    if kept < conf.regressors.shape[1] + 2:
        reasons.append(f"{kept} volumes kept for {conf.regressors.shape[1]} regressors")
    conf.excluded = bool(reasons)
    conf.reason = "; ".join(reasons)
    return conf


def dvars(data: np.ndarray) -> np.ndarray:
    """DVARS (Power et al. 2012): RMS over voxels of the volume-to-volume difference.

    Parameters
    ----------
    data : ndarray, shape (n_units, n_volumes)

    Returns
    -------
    ndarray, shape (n_volumes,)
        In the data's units; the first value is NaN.
    """
    diff = np.diff(data, axis=1)
    return np.concatenate([[np.nan], np.sqrt(np.mean(diff**2, axis=0))])


def tsnr_values(data: np.ndarray) -> np.ndarray:
    """Temporal mean / temporal SD of every unit with a non-zero SD: shape (n_units_ok,)."""
    mean, sd = data.mean(axis=1), data.std(axis=1)
    ok = sd > 0
    return mean[ok] / sd[ok]


def tsnr(data: np.ndarray) -> float:
    """Median over voxels of temporal mean / temporal SD.

    NaN for data that are not raw intensities (mean-centred or percent-change upstream:
    median temporal mean not above 3 median temporal SDs), where tSNR has no meaning.
    """
    mean, sd = data.mean(axis=1), data.std(axis=1)
    ok = sd > 0
    if not ok.any() or np.median(mean[ok]) <= 3 * np.median(sd[ok]):
        return float("nan")
    return float(np.median(mean[ok] / sd[ok]))
