"""fMRI QC pages: one self-contained HTML page per subject (as fMRIPrep / XCP-D write) and a
group page that flags outlier runs.

The figures are drawn by the per-run QC job (:func:`neuroflow.fmri.pipeline.run_qc`); a page
embeds them as PNG data with their own pixel size as the declared ``width`` / ``height``,
so that the browser never rescales a figure's buffer. Pages are byte-reproducible.
"""

from __future__ import annotations

import base64
import html
import json
import os
import struct
from pathlib import Path

import numpy as np
import pandas as pd

from neuroflow.fmri.runio import read_qc_table
from neuroflow.provenance import atomic_write

#: The scaled MAD (consistent with the SD of a normal distribution) used for the outlier flags.
MAD_SCALE = 1.4826

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 62em; color: #222;
       line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.85em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } tr:nth-child(even) td { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
.warn { color: #8a4b00; } .flag { color: #b00020; font-weight: 600; } .ok { color: #2e7d32; }
nav a { margin-right: 1em; } figcaption { font-size: 0.85em; color: #555; margin-bottom: 1em; }
"""


# --------------------------------------------------------------------------- HTML helpers
def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return struct.unpack(">II", data[16:24])


def img_tag(path, alt: str) -> str:
    """The PNG at ``path`` inline, its width and height declared as the file's own."""
    data = Path(path).read_bytes()
    try:
        width, height = png_size(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    src = base64.b64encode(data).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{src}" width="{width}" height="{height}" alt="{html.escape(alt)}">'
    )


def _cell(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "<td>yes</td>" if value else "<td>no</td>"
    if isinstance(value, (int, np.integer)):
        return f'<td class="num">{int(value)}</td>'
    if isinstance(value, (float, np.floating)):
        text = "n/a" if not np.isfinite(value) else f"{float(value):.3g}"
        return f'<td class="num">{text}</td>'
    return f"<td>{value}</td>"  # already HTML (escape text before)


def table_html(df: pd.DataFrame, escape: bool = True) -> str:
    """A readable HTML table (numbers right-aligned, 3 significant digits, n/a for NaN)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = [html.escape(v) if escape and isinstance(v, str) else v for v in rec]
        rows.append("<tr>" + "".join(_cell(v) for v in cells) + "</tr>")
    return (
        f'<div style="overflow-x:auto"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def write_page(title: str, body: str, out_html) -> None:
    """A self-contained HTML page, written atomically."""
    text = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )
    with atomic_write(Path(out_html), ".html") as tmp:
        tmp.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- subject page
QC_COLUMNS = {
    "strategy": "strategy",
    "n_volumes": "volumes",
    "n_kept": "kept",
    "fraction_kept": "fraction kept",
    "minutes_kept": "minutes kept",
    "fd_mean": "mean FD (mm)",
    "fd_max": "max FD (mm)",
    "fd_n_above": "FD > threshold",
    "dvars_median_raw": "DVARS before",
    "dvars_median_clean": "DVARS after",
    "tsnr_median": "median tSNR",
    "excluded": "excluded",
}


def coverage_table(raw_meta: dict) -> pd.DataFrame:
    """One row per atlas of a run: regions, empty regions and units per region."""
    units = [u for u in (raw_meta.get("RegionNUnits") or []) if u is not None]
    empty = raw_meta.get("EmptyRegions") or []
    reasons = raw_meta.get("EmptyRegionReasons") or {}
    return pd.DataFrame(
        [
            {
                "atlas": raw_meta["Atlas"],
                "regions": len(raw_meta.get("RegionNUnits") or []),
                "empty regions": len(empty),
                "units per region (min / median / max)": (
                    f"{min(units)} / {int(np.median(units))} / {max(units)}"
                    if units
                    else "n/a (ready series)"
                ),
                "constant units under labels": raw_meta.get("AtlasVerticesMaskedAsConstant", 0),
                "empty (why)": "; ".join(f"{r}: {reasons.get(r, 'n/a')}" for r in empty[:10])
                + (" ..." if len(empty) > 10 else "")
                or "none",
            }
        ]
    )


def run_warnings(qc: pd.DataFrame, regressors: list[dict], raw: list[dict]) -> list[str]:
    """What a reader must know about a run: exclusions, dropped regressors, empty regions."""
    out = []
    for rec in qc.itertuples(index=False):
        if str(rec.excluded).lower() in ("true", "1"):
            out.append(
                f"strategy '{rec.strategy}': EXCLUDED by the minimum-data rule ({rec.exclusion_reason})"
            )
    for meta in regressors:
        for note in meta.get("DroppedRegressors") or []:
            out.append(f"strategy '{meta['Strategy']}': regressor dropped - {note}")
    for meta in raw:
        if meta.get("EmptyRegions"):
            out.append(
                f"atlas '{meta['Atlas']}': {len(meta['EmptyRegions'])} empty region(s) "
                "left out of the denoised series and of FC"
            )
        if "overrides" in str(meta.get("RepetitionTimeSource", "")):
            out.append(f"repetition time: {meta['RepetitionTimeSource']}")
    return list(dict.fromkeys(out))


def _run_section(stem: str, qc: pd.DataFrame, carpet, panels, regressors, raw) -> str:
    table = qc[[c for c in QC_COLUMNS if c in qc.columns]].rename(columns=QC_COLUMNS)
    warn = run_warnings(qc, regressors, raw)
    notes = (
        "<ul>" + "".join(f'<li class="warn">{html.escape(w)}</li>' for w in warn) + "</ul>"
        if warn
        else '<p class="ok">No exclusion, dropped regressor or empty region.</p>'
    )
    coverage = pd.concat([coverage_table(m) for m in raw], ignore_index=True) if raw else None
    first = qc.iloc[0]
    return (
        f'<h2 id="{html.escape(stem)}">{html.escape(stem)}</h2>'
        f"<p>{html.escape(str(first['kind']))} run, TR {float(first['t_r']):g} s, "
        f"{int(first['n_volumes'])} volumes, {int(first['n_units'])} units for tSNR.</p>"
        f"{notes}<h3>Volumes kept, motion, DVARS and tSNR per strategy</h3>{table_html(table)}"
        f"<h3>FD and DVARS over time, kept/censored volumes, tSNR, confound correlations</h3>"
        f"{img_tag(panels, f'QC panels of {stem}')}"
        "<figcaption>Top: DVARS before and after each strategy (data units) and framewise "
        "displacement (mm, right axis, dotted line: the threshold). Middle: kept (grey) and "
        "censored (red) volumes per strategy. Bottom: tSNR of every non-constant unit; "
        "correlations among the regressors of the strategy with the most regressors, and of "
        "each with the global signal.</figcaption>"
        f"<h3>Carpet plots before / after denoising</h3>{img_tag(carpet, f'carpet plots of {stem}')}"
        "<figcaption>Rows: evenly spaced units, z-scored over time (grey, -2 to +2 SD); "
        "censored volumes blank.</figcaption>"
        "<h3>Region coverage</h3>" + (table_html(coverage) if coverage is not None else "<p>No atlas.</p>")
    )


def _by_stem(paths, stems, suffix: str) -> dict:
    """The file of each stem among ``paths`` (names ``<stem><suffix>``)."""
    out = {}
    for p in map(str, paths):
        name = Path(p).name
        stem = next((s for s in stems if name == f"{s}{suffix}"), None)
        if stem is not None:
            out[stem] = p
    return out


def write_subject_page(subject: str, qc_tsvs, carpets, panels, regressor_jsons, raw_jsons, out_html) -> None:
    """The fMRI QC page of one subject: every run (all sessions), in stem order.

    Parameters
    ----------
    qc_tsvs, carpets, panels : list of path
        Per run: the QC table, the carpet figure and the QC panels of ``run_qc``.
    regressor_jsons, raw_jsons : list of path
        Sidecars of the runs' regressors (per strategy) and raw region series (per atlas).
    """
    qc = pd.concat([read_qc_table(p) for p in qc_tsvs], ignore_index=True)
    stems = sorted(qc["stem"].unique())
    carpet_of = _by_stem(carpets, stems, "_desc-carpet_bold.png")
    panels_of = _by_stem(panels, stems, "_desc-qc_bold.png")
    regs = [json.loads(Path(p).read_text()) | {"_path": Path(p).name} for p in regressor_jsons]
    raws = [json.loads(Path(p).read_text()) | {"_path": Path(p).name} for p in raw_jsons]
    sections, index = [], []
    for stem in stems:
        mine = [m for m in regs if m["_path"].startswith(f"{stem}_desc-")]
        raw = [m for m in raws if m["_path"].startswith(f"{stem}_atlas-")]
        run_qc = qc[qc["stem"] == stem].sort_values("strategy", kind="stable")
        sections.append(_run_section(stem, run_qc, carpet_of[stem], panels_of[stem], mine, raw))
        n_warn = len(run_warnings(run_qc, mine, raw))
        flag = f' <span class="warn">({n_warn} note{"s" * (n_warn != 1)})</span>' if n_warn else ""
        index.append(f'<li><a href="#{html.escape(stem)}">{html.escape(stem)}</a>{flag}</li>')
    body = (
        f"<p>{len(stems)} run(s) of sub-{html.escape(subject)}. Figures are PNG at their own "
        f"pixel size. Each run lists the notes that need a reader's attention first.</p>"
        f"<nav><ul>{''.join(index)}</ul></nav>{''.join(sections)}"
    )
    write_page(f"neuroflow fMRI QC: sub-{subject}", body, out_html)


# --------------------------------------------------------------------------- group page
def flag_outliers(values: pd.Series, n_mads: float) -> tuple[pd.Series, str]:
    """Values beyond median +- ``n_mads`` scaled MADs (NaN never flagged), and how.

    Returns
    -------
    flags : Series of bool
    rule : str
        The median, the scaled MAD and the bounds (or why nothing can be flagged).
    """
    ok = values.dropna().astype(float)
    if len(ok) < 3:
        return pd.Series(False, index=values.index), f"not flagged: {len(ok)} run(s) with a value"
    med = float(ok.median())
    mad = MAD_SCALE * float((ok - med).abs().median())
    if mad == 0:
        return pd.Series(False, index=values.index), f"not flagged: MAD 0 (median {med:.3g})"
    lo, hi = med - n_mads * mad, med + n_mads * mad
    flags = values.astype(float).notna() & ((values.astype(float) < lo) | (values.astype(float) > hi))
    return flags, f"median {med:.3g}, scaled MAD {mad:.3g}, kept range [{lo:.3g}, {hi:.3g}]"


GROUP_COLUMNS = {
    "stem": "run",
    "sub": "subject page",
    "kind": "kind",
    "fd_mean": "mean FD (mm)",
    "tsnr_median": "median tSNR",
    "min_fraction_kept": "least fraction kept",
    "excluded_strategies": "strategies excluding it",
    "outlier_fd": "FD outlier",
    "outlier_tsnr": "tSNR outlier",
}


def outlier_table(qc: pd.DataFrame, n_mads: float) -> tuple[pd.DataFrame, dict]:
    """One row per run (mean FD, median tSNR, least fraction kept) with outlier flags, each
    run compared with the runs of its kind (volume, surface, cifti, timeseries: tSNR of voxels,
    vertices and regions differ by construction)."""
    runs = (
        qc.groupby("stem", sort=True)
        .agg(
            sub=("sub", "first"),
            kind=("kind", "first"),
            fd_mean=("fd_mean", "first"),
            tsnr_median=("tsnr_median", "first"),
            min_fraction_kept=("fraction_kept", "min"),
            excluded_strategies=(
                "excluded",
                lambda s: int(s.astype(str).str.lower().isin(["true", "1"]).sum()),
            ),
        )
        .reset_index()
    )
    runs["outlier_fd"], runs["outlier_tsnr"] = False, False
    rules = {}
    for kind, group in runs.groupby("kind", sort=True):  # voxels, vertices, regions apart
        for col, flag, what in (
            ("fd_mean", "outlier_fd", "mean FD"),
            ("tsnr_median", "outlier_tsnr", "median tSNR"),
        ):
            flags, rules[f"{what} ({kind} runs)"] = flag_outliers(group[col], n_mads)
            runs.loc[group.index, flag] = flags
    runs[["outlier_fd", "outlier_tsnr"]] = runs[["outlier_fd", "outlier_tsnr"]].astype(bool)
    return runs, rules


def write_group_page(qc: pd.DataFrame, n_mads: float, subject_pages: dict, out_html) -> pd.DataFrame:
    """The group QC page: every run with its flags, and links to the subject pages.

    ``subject_pages`` maps a subject label to its page's path relative to ``out_html``.
    Returns the run table with the flags.
    """
    runs, rules = outlier_table(qc, n_mads)
    shown = runs.copy()
    shown["sub"] = [
        f'<a href="{html.escape(subject_pages[s])}">sub-{html.escape(s)}</a>'
        if s in subject_pages
        else html.escape(s)
        for s in runs["sub"]
    ]
    for col in ("outlier_fd", "outlier_tsnr"):
        shown[col] = ['<span class="flag">OUTLIER</span>' if f else "" for f in runs[col]]
    shown["stem"] = shown["stem"].map(html.escape)
    shown["kind"] = shown["kind"].map(html.escape)
    shown = shown.rename(columns=GROUP_COLUMNS)
    flagged = runs[runs["outlier_fd"] | runs["outlier_tsnr"]]
    subjects = sorted(set(flagged["sub"]))
    rule_items = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in rules.items())
    body = (
        f"<p>{len(runs)} run(s) of {runs['sub'].nunique()} subject(s). A run is flagged when its "
        f"mean framewise displacement or its median tSNR lies beyond the median +- {n_mads:g} "
        f"scaled MADs (1.4826 x median absolute deviation) over the runs of its kind that "
        f"have the value:</p><ul>{rule_items}</ul>"
        + (
            f'<p class="flag">Flagged: {len(flagged)} run(s) of subject(s) '
            f"{html.escape(', '.join(subjects))}.</p>"
            if len(flagged)
            else '<p class="ok">No run flagged.</p>'
        )
        + table_html(shown, escape=False)
    )
    write_page("neuroflow fMRI QC: group", body, out_html)
    return runs


def group_qc_page(qc: pd.DataFrame, results_dir, out_page, n_mads: float) -> None:
    """The group QC page of :func:`neuroflow.fmri.pipeline.run_group`, linked to the subject
    pages under ``results_dir``; flagged runs are said in the log too."""
    here = Path(out_page).parent
    pages = {
        s: os.path.relpath(Path(results_dir) / f"sub-{s}/figures/sub-{s}_desc-fmri_report.html", here)
        for s in sorted(qc["sub"].unique())
    }
    runs = write_group_page(qc, n_mads, pages, out_page)
    for rec in runs[runs["outlier_fd"] | runs["outlier_tsnr"]].itertuples(index=False):
        what = [m for m, f in (("mean FD", rec.outlier_fd), ("median tSNR", rec.outlier_tsnr)) if f]
        print(f"WARNING: run {rec.stem} flagged as a QC outlier ({' and '.join(what)})")
