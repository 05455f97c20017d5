"""Checks of the run index (:func:`neuroflow.fmri.index.build_index`): every run's files
exist, its strategies and atlases are defined and fit it (kind, space, density)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd


def choose_strategies_and_atlases(index: pd.DataFrame, loaders: dict, atlases: dict, ok_under):
    """The ``strategies`` and ``atlases`` cells of every run (comma-separated), checked."""
    from neuroflow.fmri.atlases import check_atlas_space

    chosen_strategies, chosen_atlases = [], []
    for row in index.to_dict("records"):  # one dict per run (a pandas row per run is slow)
        src = row["bold"] or row["timeseries"]
        chosen_strategies.append(",".join(check_run(row, src, loaders, ok_under)))
        chosen_atlases.append(
            row["atlas"]
            if row["kind"] == "timeseries"
            else ",".join(row_atlases(row, src, atlases, check_atlas_space))
        )
    return chosen_strategies, chosen_atlases


def atlas_kind(atlas: Mapping) -> str:
    """``cifti`` (dlabel), ``surface`` (left/right), ``volume`` (path), or ``""`` (names only)."""
    if atlas.get("dlabel"):
        return "cifti"
    if atlas.get("left") or atlas.get("right"):
        return "surface"
    if atlas.get("path"):
        return "volume"
    return ""


def atlas_fits(atlas: Mapping, row: dict) -> bool:
    return (
        atlas_kind(atlas) == row["kind"]
        and atlas["space"] == row["space"]
        and (not atlas.get("den") or atlas.get("den") == row["den"])
    )


def check_unique(index: pd.DataFrame) -> None:
    dup = index["stem"][index["stem"].duplicated()].tolist()
    if dup:
        files = index.loc[index["stem"].isin(dup), ["bold", "timeseries"]].agg("".join, axis=1)
        raise ValueError(
            f"run index: the same run appears twice: {sorted(set(dup))} "
            f"({sorted(files)}); check the sample sheet (fmri.sample_sheet) and the "
            "derivatives folders (derivatives)"
        )


def check_run(row, src: str, loaders: dict, ok_under) -> list[str]:
    """A run's files exist (or will: under ``ok_under``) and its strategies are defined and
    fit it; returns the strategies it gets."""
    for col in ("bold", "bold_rh", "bold_json", "confounds", "timeseries"):
        if row[col] and not Path(row[col]).exists():
            if ok_under and str(Path(row[col]).resolve()).startswith(ok_under):
                continue
            raise ValueError(f"run {row['stem']}: {col} file {row[col]} does not exist")
    chosen = [s for s in row["strategies"].split(",") if s] or list(loaders)
    bad = sorted(set(chosen) - set(loaders))
    if bad:
        raise ValueError(
            f"run {row['stem']} ({src}): unknown strategies {bad}; "
            f"defined under fmri.strategies: {sorted(loaders)}"
        )
    if not row["confounds"]:
        need = [s for s in chosen if loaders[s] not in ("", "none")]
        if need:
            raise ValueError(
                f"run {row['stem']} ({src}) has no confounds file, but strategies {need} "
                f"(fmri.strategies, loaders {[loaders[s] for s in need]}) need one: give "
                "its confounds, or choose strategies with loader none for it (the "
                "'strategies' column of fmri.sample_sheet, fmri.scan.strategies or "
                "fmri.scan.timeseries_strategies)"
            )
    return chosen


def check_timeseries_strategies(chosen, loaders) -> list[str]:
    if chosen:
        bad = sorted(set(chosen) - set(loaders))
        if bad:
            raise ValueError(
                f"config key fmri.scan.timeseries_strategies: unknown strategies "
                f"{bad}; defined under fmri.strategies: {sorted(loaders)}"
            )
        return list(chosen)
    out = [s for s, loader in loaders.items() if loader in ("none", "")]
    if not out:
        raise ValueError(
            "config key fmri.scan.timeseries_strategies: the derivatives hold "
            "ready region time series (already denoised, no confounds), but no "
            f"strategy under fmri.strategies ({sorted(loaders)}) has loader none; "
            "add one, e.g. minimal: {loader: none}"
        )
    return out


def row_atlases(row, src: str, atlases: dict, check_atlas_space) -> list[str]:
    """The atlases of an image run: its own list (checked), or every atlas that fits it."""
    listed = [a for a in row["atlases"].split(",") if a]
    chosen = listed or [a for a, cfg in atlases.items() if atlas_fits(cfg, row)]
    for name in chosen:
        if name not in atlases:
            raise ValueError(
                f"run {row['stem']} ({src}): unknown atlas {name!r}; defined "
                f"under fmri.atlases: {sorted(atlases)}"
            )
        check_atlas_space(name, atlases[name]["space"], row["space"], src)
        kind = atlas_kind(atlases[name])
        if kind != row["kind"]:
            need = {"volume": "path", "surface": "left and right", "cifti": "dlabel"}[row["kind"]]
            raise ValueError(
                f"run {row['stem']} ({src}) is a {row['kind']} run but atlas "
                f"{name!r} (fmri.atlases.{name}) has no {need} file"
            )
    if not chosen:
        if row["kind"] == "cifti":
            raise ValueError(
                f"run {row['stem']} ({src}) is a CIFTI run but no CIFTI atlas fits it: "
                f"config key fmri.atlases needs an entry with space: {row['space']}"
                + (f", den: {row['den']}" if row["den"] else "")
                + " and dlabel: <a .dlabel.nii file on the same grayordinates>"
            )
        need = {"volume": "path", "surface": "left/right"}[row["kind"]]
        raise ValueError(
            f"run {row['stem']} ({src}): no atlas in space {row['space']!r} "
            f"with a {need} file under fmri.atlases"
        )
    return chosen
