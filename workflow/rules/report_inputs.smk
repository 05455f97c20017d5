# Input functions of the report rules (included by report.smk; rule files hold rules
# only). Every TSV a rule marks for the report is also shown rendered as an HTML table
# (Snakemake's report offers other types only as downloads), under the TSV's own category,
# subcategory, labels and caption (neuroflow.report.tables); one job renders them all
# into the folder TABLE_PAGES.
from functools import cache

from snakemake.io import regex_from_filepattern

from neuroflow.report.tables import PAGES as TABLE_PAGES
from neuroflow.report.tables import page_captions, page_setting, reported_tables, tables_for

REPORTED_TABLES = reported_tables(workflow.rules, regex_from_filepattern)


@cache
def _reported_tsvs():
    return tuple(tables_for(REPORTED_TABLES, [*all_stage_outputs(), *all_targets()]))


def reported_tsvs(wildcards=None):
    """Every reported TSV among this run's targets: the inputs of report_tables."""
    return list(_reported_tsvs())


def table_pages(wildcards=None):
    """The folder of rendered tables, when this run reports a table."""
    return [f"{R}/{TABLE_PAGES}"] if _reported_tsvs() else []


def _table_setting(wildcards, name):
    return page_setting(REPORTED_TABLES, f"{R}/{wildcards.table}", name)


@cache
def _captions():
    return page_captions(REPORTED_TABLES, _reported_tsvs(), R)


def _table_captions(wildcards):
    return _captions()
