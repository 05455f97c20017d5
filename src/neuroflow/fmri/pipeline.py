"""File-level steps of the fMRI stage (one job per run calls them in order: ``runjob``).

index -> confounds (run x strategy) + parcellate (run x atlas) -> denoise (run x atlas x
strategy) -> qc (run) -> group tables. See :mod:`neuroflow.fmri` for the file schema.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from neuroflow.config import filled_entry
from neuroflow.fmri.columns import (
    INDEX_COLUMNS,
    TIMESERIES_INDEX_COLUMNS,
    qc_columns,
    region_columns,
    regressor_columns,
    run_simulated,
    sidecar_simulated,
)
from neuroflow.fmri.parcellate import (
    EMPTY_NOTE,
    extract_cifti,
    extract_surface,
    extract_volume,
    mark_empty_regions,
)
from neuroflow.fmri.runio import (
    bold_files,
    load_atlas_names,
    load_run,
    n_volumes_and_t_r,
    qc_columns_of,
    qc_units,
    read_qc_table,
    read_regressors,
    sources_sha256,
    table_t_r_note,
    tolerance_or_default,
)
from neuroflow.provenance import write_json, write_tsv

FMRI_PACKAGES = ("neuroflow", "numpy", "scipy", "pandas", "nibabel", "nilearn")


def _write_table(
    table: pd.DataFrame, path, description: str, sidecar: dict, columns, sources=None, *, simulated: bool
):
    """TSV + JSON sidecar (write_tsv) with extra (CamelCase) sidecar keys."""
    path = Path(path)
    write_tsv(
        table,
        path,
        description,
        columns=columns,
        sources=sources,
        simulated=simulated,
        packages=FMRI_PACKAGES,
    )
    meta = json.loads(path.with_suffix(".json").read_text())
    meta.update(sidecar)
    write_json(meta, path.with_suffix(".json"))


def strategy_params(config: dict, name: str) -> dict:
    """A strategy of the config with the global ``clean`` defaults filled in."""
    from neuroflow.fmri.signals import CLEAN_KEYS

    fmri = config["fmri"]
    strat = dict(fmri["strategies"][name])
    clean = fmri["clean"]
    for key in CLEAN_KEYS:
        if key not in strat and key in clean:
            strat[key] = clean[key]
    strat.setdefault("options", {})
    return strat


# --------------------------------------------------------------------------- index
def write_index(
    out_tsv,
    sample_sheet="",
    derivatives=None,
    spaces=(),
    desc="preproc",
    resources_dest="resources/data",
    strategies=(),
    atlases=None,
    scan_strategies=(),
    participants=None,
    timeseries_strategies=(),
    expected_stems=None,
    simulated=False,
) -> None:
    """Build the run index (see :func:`neuroflow.fmri.index.build_index`) and write it.

    ``derivatives`` is the cohort's :class:`neuroflow.bids.Selection` (or folder paths);
    ``expected_stems`` the runs of the index built at parse time (the rule's jobs): a
    different set (a file changed in between) is an error.
    """
    from neuroflow.fmri.index import _as_selection, build_index

    selection = _as_selection(derivatives)
    index = build_index(
        sample_sheet or None,
        selection,
        spaces,
        desc,
        resources_dest,
        strategies,
        atlases,
        scan_strategies,
        participants,
        timeseries_strategies,
        simulated=simulated,
    )
    folders = list(selection.derivatives) if selection is not None else []
    if index.empty:
        raise ValueError(
            "fmri: no runs found (fmri.sample_sheet empty and no fMRI input in the "
            f"derivatives folders {folders})"
        )
    if expected_stems is not None and sorted(expected_stems) != index["stem"].tolist():
        changed = sorted(set(expected_stems) ^ set(index["stem"]))
        raise ValueError(
            f"fmri: the inputs changed since the workflow was planned (runs {changed[:5]}); "
            "start snakemake again"
        )
    write_tsv(
        index,
        out_tsv,
        "fMRI run index: one row per BOLD run or ready region time series.",
        columns=INDEX_COLUMNS,
        simulated=bool(index["simulated"].any()),
        sources=[s for s in [sample_sheet, *folders, (participants or {}).get("sheet")] if s],
    )


# --------------------------------------------------------------------------- confounds


def run_confounds(
    row: dict,
    strategy_name: str,
    strategy: dict,
    min_fraction_kept: float,
    min_minutes_kept: float,
    out_tsv,
    t_r_tolerance: float | None = None,
) -> None:
    """Regressors and censoring of one run under one strategy (shared by every atlas).

    Writes ``<stem>_desc-<strategy>_regressors.tsv`` (all volumes, one column per regressor)
    and its JSON (VolumesKept, DroppedVolumes, FractionKept, Excluded, ExclusionReason,
    FramewiseDisplacement, RepetitionTime, strategy and parameters).
    """
    from neuroflow.fmri.confounds import apply_minimum_data_rule, strategy_confounds

    strategy = filled_entry(strategy, "fmri", "strategies")  # options: as the workflow fills it
    n_vol, t_r, note, sources = n_volumes_and_t_r(row, tolerance_or_default(t_r_tolerance))
    label = row["bold"] or row["timeseries"]
    conf = strategy_confounds(
        bold_files(row) if row["kind"] != "timeseries" else label,
        row.get("confounds", ""),
        row.get("confounds_format", ""),
        n_vol,
        strategy,
        bold_label=label,
    )
    conf = apply_minimum_data_rule(conf, t_r, min_fraction_kept, min_minutes_kept)
    if conf.excluded:
        print(f"run {row['stem']} excluded under strategy {strategy_name}: {conf.reason}")
    fd = None if conf.fd is None else [round(float(v), 6) for v in conf.fd]
    _write_table(
        conf.regressors,
        out_tsv,
        f"Confound regressors of strategy '{strategy_name}' (all volumes; censoring in VolumesKept).",
        {
            "Strategy": strategy_name,
            "Loader": strategy.get("loader"),
            "LoaderOptions": strategy["options"],
            "RepetitionTime": t_r,
            "RepetitionTimeSource": note,
            "NVolumes": n_vol,
            "VolumesKept": conf.sample_mask.tolist(),
            "DroppedVolumes": conf.dropped,
            "NVolumesKept": int(len(conf.sample_mask)),
            "FractionKept": len(conf.sample_mask) / n_vol,
            "MinimumDataRule": {"min_fraction_kept": min_fraction_kept, "min_minutes_kept": min_minutes_kept},
            "Excluded": conf.excluded,
            "ExclusionReason": conf.reason,
            "DroppedRegressors": conf.notes,
            "FramewiseDisplacement": fd,
        },
        regressor_columns(conf.regressors.columns, strategy_name),
        sources=[*sources, row.get("confounds", "")] if row.get("confounds") else sources,
        simulated=run_simulated(row),
    )


# --------------------------------------------------------------------------- parcellate


def run_parcellate(row: dict, atlas_name: str, atlas: dict, out_tsv, t_r_tolerance=None) -> None:
    """Raw (not denoised) region time series of one run and one atlas (shared by strategies).

    Volumes: mean over each label's voxels on the data grid (NiftiLabelsMasker's result).
    Surfaces: mean over the atlas's vertices with a non-constant signal. CIFTI-2: the
    ``dlabel`` atlas mapped onto the series' grayordinates
    (:func:`neuroflow.fmri.atlases.cifti_labels_on`), then the mean over the grayordinates
    of each label with a non-constant signal. Ready time series: read (TSV/CSV/.mat) and
    relabelled. The run is read once.
    """
    from neuroflow.fmri.atlases import check_atlas_space
    from neuroflow.fmri.images import read_region_timeseries

    atlas = filled_entry(atlas, "fmri", "atlases")  # space, den: as the workflow fills them
    names = load_atlas_names(atlas.get("labels") or "")  # no labels table: names from the atlas
    side = {"Atlas": atlas_name, "Space": row.get("space", "")}
    if row["kind"] == "timeseries":
        labels = [names[k] for k in sorted(names)] if names and row["timeseries"].endswith(".mat") else None
        signals, regions = read_region_timeseries(row["timeseries"], row.get("mat_variable", ""), labels)
        n_units, t_r = [None] * len(regions), float(row["t_r"])
        note, sources = table_t_r_note(row), [row["timeseries"]]
        side["Extraction"] = "ready region time series (extracted upstream)"
        masked = 0
    else:
        check_atlas_space(atlas_name, atlas["space"], row.get("space", ""), row["bold"])
        bold = load_run(row, tolerance_or_default(t_r_tolerance), all_voxels=True)
        extract = {"cifti": extract_cifti, "surface": extract_surface}.get(bold.kind, extract_volume)
        signals, regions, n_units, masked, atlas_files = extract(bold, atlas_name, atlas, names, side)
        t_r, note, sources = bold.t_r, bold.t_r_note, [*bold.sources, *atlas_files]
        del bold
    signals, empty, reasons = mark_empty_regions(signals, regions, n_units)
    if empty:
        print(
            f"WARNING: run {row['stem']}, atlas {atlas_name}: {len(empty)} empty region(s) "
            f"written as n/a (left out of the denoised series and of FC): "
            + "; ".join(f"{r} ({reasons[r]})" for r in empty)
        )
    table = pd.DataFrame(signals, columns=regions)
    side.update(
        {
            "RepetitionTime": t_r,
            "RepetitionTimeSource": note,
            "SamplingFrequency": 1.0 / t_r,
            "NVolumes": int(signals.shape[0]),
            "RegionNUnits": n_units,
            "AtlasVerticesMaskedAsConstant": masked,
            "EmptyRegions": empty,
            "EmptyRegionReasons": reasons,
            "EmptyRegionsNote": EMPTY_NOTE,
            "SourcesSha256": sources_sha256(sources),
        }
    )
    _write_table(
        table,
        out_tsv,
        f"Raw region time series (atlas {atlas_name}; not denoised); rows = volumes, columns = regions.",
        side,
        region_columns(table.columns, atlas_name, "raw time series"),
        sources=sources,
        simulated=run_simulated(row),
    )


# --------------------------------------------------------------------------- denoise
def _read_denoise_inputs(raw_tsv, regressors_tsv):
    """The raw region series and the regressors of a run, their sidecars and the TR (checked
    to agree, as the volume counts)."""
    raw_meta = json.loads(Path(raw_tsv).with_suffix(".json").read_text())
    reg_meta = json.loads(Path(regressors_tsv).with_suffix(".json").read_text())
    raw = pd.read_csv(raw_tsv, sep="\t")
    regs = read_regressors(regressors_tsv)
    t_r = float(raw_meta["RepetitionTime"])
    if abs(t_r - float(reg_meta["RepetitionTime"])) > 1e-6:
        raise ValueError(
            f"{raw_tsv} (TR {t_r}) and {regressors_tsv} (TR {reg_meta['RepetitionTime']}) disagree"
        )
    if len(raw) != len(regs) and regs.shape[1]:
        raise ValueError(f"{raw_tsv} has {len(raw)} volumes but {regressors_tsv} has {len(regs)} rows")
    return raw_meta, reg_meta, raw, regs, t_r


def run_denoise(raw_tsv, regressors_tsv, strategy_name: str, strategy: dict, out_tsv) -> None:
    """Denoised region time series of one run x atlas x strategy (nilearn.signal.clean).

    An excluded run (minimum-data rule) gives a header-only TSV whose sidecar says
    ``"Excluded": true`` with the reason; it is also listed in the group exclusion table.
    """
    from neuroflow.fmri.signals import CLEAN_KEYS, denoise

    strategy = filled_entry(strategy, "fmri", "strategies")
    raw_meta, reg_meta, raw, regs, t_r = _read_denoise_inputs(raw_tsv, regressors_tsv)
    mask = np.asarray(reg_meta["VolumesKept"], dtype=int)
    clean = {k: strategy[k] for k in CLEAN_KEYS if k in strategy}
    excluded = bool(reg_meta["Excluded"])
    empty = raw.columns[raw.isna().any()].tolist()
    if excluded:
        table = pd.DataFrame(columns=raw.columns)
    else:
        values = raw.drop(columns=empty).to_numpy(dtype=np.float64)
        out = denoise(values, t_r, regs if regs.shape[1] else None, mask, **clean)
        table = pd.DataFrame(out, columns=[c for c in raw.columns if c not in empty])
    side = {
        k: raw_meta.get(k)
        for k in ("Atlas", "Space", "RepetitionTime", "SamplingFrequency", "RegionNUnits", "Extraction")
    }
    dropped_empty = [] if excluded else empty
    side.update(
        {
            "EmptyRegions": dropped_empty,
            "EmptyRegionReasons": {
                r: (raw_meta.get("EmptyRegionReasons") or {}).get(r, "all n/a") for r in dropped_empty
            },
            "EmptyRegionsNote": "Empty regions of the raw series are left out of this table "
            "(see the raw series' sidecar).",
        }
    )
    side.update(
        {
            "Strategy": strategy_name,
            "Loader": strategy.get("loader"),
            "LoaderOptions": strategy["options"],
            "NRegressors": int(regs.shape[1]),
            "Regressors": list(regs.columns),
            "CleanParameters": clean,
            "NVolumes": int(len(raw)),
            "VolumesKept": mask.tolist(),
            "DroppedVolumes": reg_meta["DroppedVolumes"],
            "NVolumesKept": int(len(mask)),
            "FractionKept": reg_meta["FractionKept"],
            "Excluded": excluded,
            "ExclusionReason": reg_meta["ExclusionReason"],
            "RepetitionTimeSource": raw_meta.get("RepetitionTimeSource"),
        }
    )
    desc = (
        f"Denoised region time series (atlas {side['Atlas']}, strategy {strategy_name}); rows = "
        "kept volumes (see VolumesKept), columns = regions."
    )
    if excluded:
        desc += " EXCLUDED by the minimum-data rule: no rows."
    elif empty:
        desc += f" {len(empty)} empty region(s) left out: {', '.join(empty[:10])}."
        print(f"WARNING: {out_tsv}: empty region(s) left out {empty}")
    _write_table(
        table,
        out_tsv,
        desc,
        side,
        region_columns(table.columns, side["Atlas"], f"denoised time series ({strategy_name})"),
        sources=[str(raw_tsv), str(regressors_tsv)],
        simulated=sidecar_simulated([raw_tsv]),
    )


# --------------------------------------------------------------------------- qc


def _qc_strategy(data: np.ndarray, t_r: float, strategy: dict, regressors_tsv) -> dict:
    """Clean the QC units under one strategy (standardization off): cleaned data (NaN at
    censored volumes), its DVARS, the regressors and the censoring of the strategy."""
    from neuroflow.fmri.confounds import dvars
    from neuroflow.fmri.signals import CLEAN_KEYS, denoise

    meta = json.loads(Path(regressors_tsv).with_suffix(".json").read_text())
    regs = read_regressors(regressors_tsv)
    mask = np.asarray(meta["VolumesKept"], dtype=int)
    clean = {k: strategy[k] for k in CLEAN_KEYS if k in strategy}
    clean["standardize"] = None
    full = np.full_like(data, np.nan)
    if not meta["Excluded"]:
        full[:, mask] = denoise(data.T, t_r, regs if regs.shape[1] else None, mask, **clean).T
    kept = np.zeros(data.shape[1], dtype=bool)
    kept[mask] = True
    fd = meta.get("FramewiseDisplacement")
    return {
        "meta": meta,
        "regressors": regs,
        "mask": mask,
        "kept": kept,
        "cleaned": full,
        "dvars": dvars(full),
        "fd": None if fd is None else np.asarray(fd, dtype=float),
    }


def _qc_row(
    row: dict, name: str, res: dict, data, t_r: float, d_raw, snr, n_all: int, fd_threshold: float
) -> dict:
    """One row of the per-run QC table (run-level columns repeated per strategy)."""
    meta, fd, n_kept, n_vol = res["meta"], res["fd"], len(res["mask"]), data.shape[1]
    return {
        "stem": row["stem"],
        "kind": row["kind"],  # entities: in the file name (read_qc_table)
        "strategy": name,
        "t_r": t_r,
        "n_volumes": n_vol,
        "n_kept": n_kept,
        "fraction_kept": n_kept / n_vol,
        "minutes_kept": n_kept * t_r / 60.0,
        "excluded": bool(meta["Excluded"]),
        "exclusion_reason": meta["ExclusionReason"],
        "fd_mean": float(np.mean(fd)) if fd is not None else np.nan,
        "fd_max": float(np.max(fd)) if fd is not None else np.nan,
        "fd_n_above": int((fd > fd_threshold).sum()) if fd is not None else np.nan,
        "dvars_median_raw": float(np.nanmedian(d_raw)),
        "dvars_median_clean": float(np.nanmedian(res["dvars"])) if not meta["Excluded"] else np.nan,
        "tsnr_median": snr,
        "n_units": n_all,
        "n_units_dvars": data.shape[0],
    }


def _write_qc_table(rows: list, out_tsv, fd_threshold: float, source: str, simulated: bool) -> None:
    write_tsv(
        pd.DataFrame(rows),
        out_tsv,
        "fMRI QC: one row per run and denoising strategy.",
        qc_columns(fd_threshold),
        sources=[source],
        simulated=simulated,
    )


def run_qc(
    row: dict,
    strategies: dict,
    regressor_tsvs: dict,
    settings,
    out_tsv,
    out_png,
    out_figure=None,
    raw_tsv: str = "",
) -> None:
    """QC of one run: FD and DVARS summaries, tSNR, fraction kept, carpet plots, QC panels.

    One TSV row per strategy (run-level columns repeated). tSNR uses every non-constant
    voxel / vertex. DVARS and the carpets use at most ``settings.max_units`` evenly spaced
    voxels / vertices (region data for ready time series), before and after each strategy's
    cleaning (standardization off, so both are in the data's units). ``out_figure`` (optional)
    gets the panels of :func:`neuroflow.fmri.qc.plot_run_qc` (FD/DVARS over time, kept and
    censored volumes, tSNR distribution, confound correlations) for the subject's QC page.
    ``settings`` is a :class:`neuroflow.fmri.qc.QCSettings`.
    """
    from neuroflow.fmri.confounds import dvars, tsnr, tsnr_values
    from neuroflow.fmri.qc import plot_carpets, plot_run_qc

    data, t_r, unit_name = qc_units(row, raw_tsv, settings.t_r_tolerance)
    snr, n_all = tsnr(data), data.shape[0]
    snr_values = tsnr_values(data) if np.isfinite(snr) else None
    global_signal = data.mean(axis=0)
    data = data[np.linspace(0, n_all - 1, min(settings.max_units, n_all)).round().astype(int)]
    d_raw = dvars(data)
    results = {
        name: _qc_strategy(data, t_r, strategies[name], regressor_tsvs[name]) for name in sorted(strategies)
    }
    fd = next((r["fd"] for r in reversed(results.values()) if r["fd"] is not None), None)
    rows = [
        _qc_row(row, name, res, data, t_r, d_raw, snr, n_all, settings.fd_threshold)
        for name, res in results.items()
    ]
    _write_qc_table(
        rows, out_tsv, settings.fd_threshold, row["bold"] or row["timeseries"], run_simulated(row)
    )
    title = f"{row['stem']} ({unit_name}, TR {t_r:g} s)"
    plot_carpets(
        data,
        {k: r["cleaned"] for k, r in results.items()},
        t_r,
        title,
        out_png,
        fd=fd,
        dvars_raw=d_raw,
        max_rows=settings.carpet_rows,
        unit_name=unit_name,
    )
    if out_figure:
        widest = max(results.values(), key=lambda r: r["regressors"].shape[1])
        plot_run_qc(
            t_r,
            {"fd": fd, "dvars_raw": d_raw, "dvars": {k: r["dvars"] for k, r in results.items()}},
            {k: r["kept"] for k, r in results.items()},
            snr_values,
            widest["regressors"],
            global_signal,
            title,
            out_figure,
            settings.fd_threshold,
        )


# --------------------------------------------------------------------------- group


def run_group(
    qc_tsvs,
    denoised_tsvs,
    results_dir,
    out_qc,
    out_excluded,
    out_index,
    out_png,
    out_page=None,
    outlier_mads: float | None = None,
) -> None:
    """Group tables: all QC rows, the excluded runs, the index of region time series, and
    (``out_page``) the group QC page flagging outlier runs (mean FD or median tSNR beyond
    the median +- ``outlier_mads`` scaled MADs), linked to the subject pages."""
    from neuroflow.fmri.index import parse_entities
    from neuroflow.fmri.qc import plot_group_qc

    qc = pd.concat([read_qc_table(p) for p in sorted(qc_tsvs)], ignore_index=True)
    qc = qc.sort_values(["stem", "strategy"], kind="stable").reset_index(drop=True)
    write_tsv(
        qc,
        out_qc,
        "fMRI QC of every run and strategy (concatenated per-run QC tables).",
        qc_columns_of(qc_tsvs),
        sources=sorted(str(p) for p in qc_tsvs),
        simulated=sidecar_simulated(qc_tsvs),
    )
    rows = []
    for path in sorted(str(p) for p in denoised_tsvs):
        meta = json.loads(Path(path).with_suffix(".json").read_text())
        ents = parse_entities(Path(path).name)
        rows.append(
            {
                "path": str(Path(path).relative_to(results_dir)),
                **{k: ents.get(k, "") for k in ("sub", "ses", "task", "acq", "run", "space", "res", "den")},
                "atlas": meta["Atlas"],
                "strategy": meta["Strategy"],
                "t_r": meta["RepetitionTime"],
                "n_regions": len(meta["RegionNUnits"] or []),
                "n_empty_regions": len(meta.get("EmptyRegions") or []),
                "n_volumes_kept": meta["NVolumesKept"],
                "fraction_kept": meta["FractionKept"],
                "excluded": meta["Excluded"],
                "exclusion_reason": meta["ExclusionReason"],
            }
        )
    index = pd.DataFrame(rows)
    write_tsv(
        index,
        out_index,
        "Index of the denoised region time series (the files later stages "
        "read). Skip rows with excluded = True.",
        columns=TIMESERIES_INDEX_COLUMNS,
        simulated=sidecar_simulated(qc_tsvs),
    )
    excluded = index[index["excluded"].astype(bool)]
    write_tsv(
        excluded.reset_index(drop=True),
        out_excluded,
        "Runs excluded by the minimum-data rule (too little clean data after censoring).",
        TIMESERIES_INDEX_COLUMNS,
        simulated=sidecar_simulated(qc_tsvs),
    )
    title = "fMRI denoising QC: volumes kept and DVARS reduction per run"
    with_empty = index[index["n_empty_regions"] > 0] if len(index) else index
    if len(with_empty):
        title += (
            f"\n{len(with_empty)} run x atlas x strategy file(s) with empty regions left out "
            "(column n_empty_regions of desc-timeseries_index.tsv)"
        )
    plot_group_qc(qc, out_png, title=title)
    if out_page:
        from neuroflow.fmri.report import group_qc_page

        group_qc_page(qc, results_dir, out_page, outlier_mads)
