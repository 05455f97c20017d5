"""Tables of the Snakemake report shown as HTML (Snakemake's report offers a .tsv only as a
download), and the registry of the tables the rule files mark for the report.

Snakemake 9's report shows images, HTML and PDF in the page and every other type
(``text/tab-separated-values`` included) as a download button, so each reported TSV gets
a rendered copy, ``group/report/tables/<path of the TSV>.html`` (outside the subject
folders, which stay BIDS), with the category, subcategory, labels and caption of the TSV's
own ``report()`` entry. One ``report_tables`` job renders every page of a run into that
folder; the report registers each page through the folder's ``{table}.html`` pattern.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace

from jinja2 import ChainableUndefined, Environment, Template

from neuroflow.provenance import atomic_write

_STYLE = (
    "body{font-family:sans-serif;font-size:13px;margin:.5em}"
    "table{border-collapse:collapse}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;"
    "vertical-align:top;white-space:nowrap}"
    "th{background:#f0f0f0;position:sticky;top:0}"
    "tr:nth-child(even) td{background:#fafafa}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
)
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def read_tsv(path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a TSV, every cell as written (no type conversion)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    if not rows:
        return [], []
    return rows[0], rows[1:]


def _cell(value: str) -> str:
    cls = ' class="num"' if _NUMBER.match(value) else ""
    return f"<td{cls}>{html.escape(value)}</td>"


def table_html(header: list[str], rows: list[list[str]], title: str) -> str:
    """A small self-contained HTML page holding one table (every row, cells as written)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    note = f"<p>{len(rows)} rows x {len(header)} columns</p>" if header else "<p>Empty table.</p>"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        f"<h3>{html.escape(title)}</h3>\n{note}\n<table>\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>\n</body></html>\n"
    )


def tsv_to_html(tsv, out) -> None:
    """Write ``tsv`` as a self-contained HTML table to ``out``."""
    header, rows = read_tsv(tsv)
    with atomic_write(out) as tmp:
        tmp.write_text(table_html(header, rows, Path(tsv).name))


def tsvs_to_html(tsvs, pages_dir) -> list[Path]:
    """Write every TSV of ``tsvs`` as its page in ``pages_dir`` (``<results>/`` :data:`PAGES`):
    ``<pages_dir>/<path of the TSV under <results>>.html`` (see :func:`table_page`)."""
    if Path(pages_dir).parts[-len(Path(PAGES).parts) :] != Path(PAGES).parts:
        raise ValueError(f"the folder of rendered tables {pages_dir} does not end in {PAGES}")
    results_dir = Path(pages_dir).parents[len(Path(PAGES).parts) - 1]
    pages = []
    for tsv in tsvs:
        page = Path(pages_dir) / f"{Path(tsv).relative_to(results_dir)}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        tsv_to_html(tsv, page)
        pages.append(page)
    return pages


# -- the tables the rule files mark for the report ----------------------------------------


@dataclass(frozen=True)
class ReportedTable:
    """One ``report()`` TSV output of a rule: its pattern and report settings."""

    rule: str
    pattern: str
    regex: re.Pattern
    caption: str  # path of the caption file ("" for none)
    category: object
    subcategory: object
    labels: object
    outputs: tuple[str, ...] = ()  # every output pattern of the rule


def reported_tables(rules, regex_from_filepattern) -> list[ReportedTable]:
    """Every TSV output marked ``report()`` among ``rules`` (Snakemake rule objects)."""
    out = []
    for rule in rules:
        for item in rule.output:
            flag = getattr(item, "flags", {}).get("report")
            if flag is None or not str(item).endswith(".tsv"):
                continue
            caption = (
                flag.caption.get_path_or_uri(secret_free=True)
                if hasattr(flag.caption, "get_path_or_uri")
                else flag.caption or ""
            )
            out.append(
                ReportedTable(
                    rule.name,
                    str(item),
                    re.compile(regex_from_filepattern(str(item))),
                    str(caption),
                    flag.category,
                    flag.subcategory,
                    flag.labels,
                    tuple(map(str, rule.output)),
                )
            )
    return out


def find_table(tables: list[ReportedTable], path: str) -> tuple[ReportedTable, dict] | None:
    """The reported table whose pattern ``path`` matches, with the matched wildcards."""
    for table in tables:
        m = table.regex.match(str(path))
        if m:
            return table, {k: v for k, v in m.groupdict().items() if v is not None}
    return None


def expand_setting(value, wildcards: dict):
    """A report() setting (string with wildcards, dict of those, or None) for one file."""
    if isinstance(value, str):
        return value.format(**wildcards) if "{" in value else value
    if isinstance(value, dict):
        return {k: expand_setting(v, wildcards) for k, v in value.items()}
    return value


#: Where rendered tables go, under the results folder (not beside the TSV: subject folders
#: stay BIDS and are untouched by a group-level run).
PAGES = "group/report/tables"


def table_page(results_dir: str, tsv) -> str:
    """The rendered page of a reported TSV: ``<results>/group/report/tables/<path>.html``."""
    return f"{results_dir}/{PAGES}/{Path(tsv).relative_to(results_dir)}.html"


def tables_for(tables: list[ReportedTable], targets) -> list[str]:
    """Every reported table among ``targets``, and every reported table without wildcards
    whose rule makes one of the targets (sorted)."""
    targets = {str(p) for p in targets}
    tsvs = {p for p in targets if p.endswith(".tsv") and find_table(tables, p)}
    tsvs |= {t.pattern for t in tables if "{" not in t.pattern and targets & set(t.outputs)}
    return sorted(tsvs)


def pages_for(tables: list[ReportedTable], targets, results_dir: str) -> list[str]:
    """The rendered page of every table of :func:`tables_for`."""
    return sorted(table_page(results_dir, p) for p in tables_for(tables, targets))


def page_setting(tables: list[ReportedTable], tsv: str, name: str):
    """The ``category``/``subcategory``/``labels`` of a rendered table: its TSV's own, with
    wildcards filled; the last label says "shown as a table" (to tell the page from the
    TSV's download entry)."""
    table, matched = find_table(tables, tsv)
    value = getattr(table, name)
    if callable(value):
        value = value(SimpleNamespace(**matched))
    value = expand_setting(value, matched)
    if name == "labels" and value:
        last = list(value)[-1]
        value = {**value, last: f"{value[last]} - shown as a table"}
    return value


def page_caption(tables: list[ReportedTable], tsv: str) -> str:
    """The caption of a rendered table (:func:`render_caption` of its TSV's caption)."""
    table, matched = find_table(tables, tsv)
    return render_caption(table.caption, matched, tsv)


class PageCaptions(Mapping):
    """The caption of every rendered table, keyed by the ``table`` wildcard of its page (the
    TSV's path under the results folder); what ``report/table.rst`` shows.

    Not a dict, and printed short: Snakemake prints a job's params beside every file of the
    report (each page would carry every caption) and keeps only builtin-typed params for its
    params rerun trigger (a caption does not change a page's bytes)."""

    def __init__(self, captions: dict[str, str]):
        self._captions = dict(captions)

    def __getitem__(self, table: str) -> str:
        return self._captions[table]

    def __iter__(self):
        return iter(self._captions)

    def __len__(self) -> int:
        return len(self._captions)

    def __str__(self) -> str:
        return f"<captions of {len(self)} tables>"

    __repr__ = __str__


def page_captions(tables: list[ReportedTable], tsvs, results_dir: str) -> PageCaptions:
    """The :class:`PageCaptions` of the pages of ``tsvs`` (paths under ``results_dir``)."""
    return PageCaptions({str(Path(tsv).relative_to(results_dir)): page_caption(tables, tsv) for tsv in tsvs})


@cache
def _caption_template(caption_path: str) -> Template:
    """A caption file compiled once per parse (compiling, not rendering, is the cost)."""
    # the producing job's params are not known here: a caption branch on them
    # (``snakemake.params.x.y``) reads as undefined, i.e. false
    env = Environment(undefined=ChainableUndefined)
    return env.from_string(Path(caption_path).read_text())


def render_caption(caption_path: str, wildcards: dict, tsv: str) -> str:
    """The TSV's caption text (its Jinja placeholders of wildcards filled), then a line
    naming the file the table shows."""
    text = ""
    if caption_path and Path(caption_path).is_file():
        # what captions read: snakemake.wildcards.<name>
        sm = SimpleNamespace(wildcards=SimpleNamespace(**wildcards))
        text = _caption_template(str(caption_path)).render(snakemake=sm)
    return (text.rstrip() + "\n\n" if text else "") + (
        f"The table ``{Path(tsv).name}`` rendered in the page (every row); the TSV itself is "
        "the output to use."
    )
