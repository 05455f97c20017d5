# Input functions of the report rules (included by report.smk; rule files hold rules
# only).
from pathlib import Path
from types import SimpleNamespace

from snakemake.io import regex_from_filepattern

from neuroflow.report.tables import expand_setting, find_table, render_caption, reported_tables


# Every TSV a rule marks for the report is also shown rendered as an HTML table (Snakemake's
# report offers other types only as downloads), under the TSV's own category, subcategory,
# labels and caption (neuroflow.report.tables).
REPORTED_TABLES = reported_tables(workflow.rules, regex_from_filepattern)


def reported_table_pages(wildcards=None):
    """The rendered page of every reported table among the targets, and of every reported
    table without wildcards made by a rule that makes a target."""
    targets = {str(p) for p in [*all_stage_outputs(), *all_targets()]}
    tables = {p for p in targets if p.endswith(".tsv") and find_table(REPORTED_TABLES, p)}
    tables |= {t.pattern for t in REPORTED_TABLES
               if "{" not in t.pattern and targets & set(t.outputs)}
    return sorted(table_page(p) for p in tables)


def table_page(tsv):
    """Where the rendered page of a reported TSV goes: under ``group/report/tables/`` (not
    beside the TSV: subject folders stay BIDS and untouched by a group-level run)."""
    return f"{R}/group/report/tables/{Path(tsv).relative_to(R)}.html"


def _table_setting(wildcards, name):
    table, matched = find_table(REPORTED_TABLES, f"{R}/{wildcards.table}")
    value = getattr(table, name)
    if callable(value):
        value = value(SimpleNamespace(**matched))
    value = expand_setting(value, matched)
    if name == "labels" and value:  # tell the page from the TSV's download entry
        last = list(value)[-1]
        value = {**value, last: f"{value[last]} - shown as a table"}
    return value


def _table_caption(wildcards):
    table, matched = find_table(REPORTED_TABLES, f"{R}/{wildcards.table}")
    return render_caption(table.caption, matched, f"{R}/{wildcards.table}")
