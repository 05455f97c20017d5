# Input functions of the report rules (included by report.smk; rule files hold rules
# only). Every TSV a rule marks for the report is also shown rendered as an HTML table
# (Snakemake's report offers other types only as downloads), under the TSV's own category,
# subcategory, labels and caption (neuroflow.report.tables).
from snakemake.io import regex_from_filepattern

from neuroflow.report.tables import PAGES as TABLE_PAGES
from neuroflow.report.tables import page_caption, page_setting, pages_for, reported_tables

REPORTED_TABLES = reported_tables(workflow.rules, regex_from_filepattern)


def reported_table_pages(wildcards=None):
    return pages_for(REPORTED_TABLES, [*all_stage_outputs(), *all_targets()], R)


def _table_setting(wildcards, name):
    return page_setting(REPORTED_TABLES, f"{R}/{wildcards.table}", name)


def _table_caption(wildcards):
    return page_caption(REPORTED_TABLES, f"{R}/{wildcards.table}")
