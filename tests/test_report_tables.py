"""The Snakemake report (issue 20): categories in pipeline order, defined once, and every
reported table shown as HTML (Snakemake 9 offers a .tsv only as a download)."""

from __future__ import annotations

import pickle
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from jinja2 import Environment
from snakemake.io import glob_wildcards, regex_from_filepattern

from neuroflow.report.categories import REPORT_CATEGORY, section_title
from neuroflow.report.tables import (
    PAGES,
    expand_setting,
    find_table,
    page_caption,
    page_captions,
    page_setting,
    render_caption,
    reported_tables,
    table_page,
    tsv_to_html,
    tsvs_to_html,
)

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ["fmri", "eeg", "connectome", "activity", "fc", "bicluster", "trsa", "encoding", "methods"]
# rule files whose report() entries use REPORT_CATEGORY (fmri*.smk and eeg*.smk: the lead's)
RULE_FILES = [
    "fmri.smk",
    "eeg.smk",
    "homogenize.smk",
    "activity.smk",
    "fc.smk",
    "bicluster.smk",
    "trsa.smk",
    "encoding.smk",
    "report.smk",
]


def test_categories_sort_in_pipeline_order():
    names = [REPORT_CATEGORY[s] for s in PIPELINE]
    assert sorted(REPORT_CATEGORY.values()) == names
    # the report's menu sorts with JavaScript localeCompare: single-digit prefixes only
    assert all(re.match(r"^[1-9] \S", n) for n in names) and len(names) <= 9
    assert section_title("eeg") == "EEG preprocessing"


@pytest.mark.parametrize("rule_file", RULE_FILES)
def test_rule_files_take_categories_from_report_category(rule_file):
    text = (ROOT / "workflow/rules" / rule_file).read_text()
    variables = dict(re.findall(r"^\s*(\w+_CATEGORY) = (.+)$", text, flags=re.M))
    assert all(v.startswith("REPORT_CATEGORY[") for v in variables.values()), variables
    used = re.findall(r"\bcategory=([^,\n]+)", text)
    assert used, f"{rule_file} reports nothing"
    for value in used:
        assert value.startswith("REPORT_CATEGORY[") or value in variables or value.startswith("lambda"), (
            f"{rule_file}: category={value}"
        )
    for sub in re.findall(r"\bsubcategory=f?\"([^\"]+)\"", text):
        assert re.match(r"^([1-9] |\{)", sub), f"{rule_file}: subcategory {sub!r} not ordered"


class _Rows(HTMLParser):
    """The cells of every <tr> of an HTML page."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_rendered_table_holds_every_row_of_its_tsv(tmp_path):
    table = pd.DataFrame(
        {
            "source": [f"s{i}" for i in range(250)],
            "value": [i / 7 for i in range(250)],
            "note": ["<b>&</b>", "n/a", ""] + ["x"] * 247,
        }
    )
    tsv = tmp_path / "desc-test_table.tsv"
    table.to_csv(tsv, sep="\t", index=False)
    tsv_to_html(tsv, tmp_path / "desc-test_table.tsv.html")
    page = (tmp_path / "desc-test_table.tsv.html").read_text()
    parser = _Rows()
    parser.feed(page)
    expected = [list(table.columns)] + [line.split("\t") for line in tsv.read_text().splitlines()[1:]]
    assert parser.rows == expected
    assert "<b>" not in page and "<script" not in page and "http" not in page


def test_reported_table_gets_the_category_and_caption_of_its_tsv(tmp_path):
    caption = tmp_path / "cap.rst"
    caption.write_text("Scores of benchmark **{{ snakemake.wildcards.bench }}**.")
    flag = SimpleNamespace(
        caption=str(caption), category="5 FC", subcategory="{bench}", labels={"table": "scores of {bench}"}
    )

    class _Out(str):
        flags = {"report": flag}

    rule = SimpleNamespace(
        name="fc_scores", output=[_Out("r/bench-{bench}_desc-scores.tsv"), "r/bench-{bench}_desc-scores.png"]
    )
    tables = reported_tables([rule], regex_from_filepattern)
    assert len(tables) == 1
    table, matched = find_table(tables, "r/bench-hcp_desc-scores.tsv")
    assert matched == {"bench": "hcp"}
    assert expand_setting(table.subcategory, matched) == "hcp"
    assert expand_setting(table.labels, matched) == {"table": "scores of hcp"}
    assert "Scores of benchmark **hcp**." in render_caption(table.caption, matched, "x.tsv")
    assert find_table(tables, "r/other.tsv") is None


def test_rendered_pages_lie_outside_the_subject_folders_and_carry_the_tsvs_settings():
    """A subject's reported TSV gets its page under group/report/tables/ (a group-level run
    never writes into sub-*), with the TSV's labels plus "shown as a table"."""
    import re

    from neuroflow.report.tables import ReportedTable, page_setting, pages_for, table_page

    table = ReportedTable(
        "r",
        "res/sub-{sub}/x_desc-scores.tsv",
        re.compile(r"res/sub-(?P<sub>[^/]+)/x_desc-scores\.tsv"),
        "",
        "1 fMRI",
        "sub-{sub}",
        {"table": "scores of {sub}"},
        ("res/sub-{sub}/x_desc-scores.tsv",),
    )
    assert (
        table_page("res", "res/sub-01/x_desc-scores.tsv")
        == "res/group/report/tables/sub-01/x_desc-scores.tsv.html"
    )
    assert pages_for([table], ["res/sub-01/x_desc-scores.tsv", "res/sub-01/y.png"], "res") == [
        "res/group/report/tables/sub-01/x_desc-scores.tsv.html"
    ]
    tsv = "res/sub-01/x_desc-scores.tsv"
    assert page_setting([table], tsv, "subcategory") == "sub-01"
    assert page_setting([table], tsv, "labels") == {"table": "scores of 01 - shown as a table"}


def test_one_job_renders_every_page_as_the_per_table_job_did(tmp_path):
    """report_tables writes every page into one folder; Snakemake's report finds them with
    the folder's ``{table}.html`` pattern (glob_wildcards, nested folders included) and asks
    the rule's callables and caption with those wildcards: each page keeps the path, bytes,
    settings and caption the one-job-per-table rule gave it."""
    res = str(tmp_path / "res")
    caption = tmp_path / "cap.rst"
    caption.write_text("Scores of **{{ snakemake.wildcards.sub }}**.")
    flag = SimpleNamespace(
        caption=str(caption),
        category="5 FC",
        subcategory="sub-{sub}",
        labels=lambda wc: {"subject": wc.sub, "table": "scores"},
    )

    class _Out(str):
        flags = {"report": flag}

    rule = SimpleNamespace(
        name="scores", output=[_Out(f"{res}/sub-{{sub}}/func/sub-{{sub}}_desc-scores.tsv")]
    )
    tables = reported_tables([rule], regex_from_filepattern)
    tsvs = [f"{res}/sub-{s}/func/sub-{s}_desc-scores.tsv" for s in ("01", "02")]
    for i, tsv in enumerate(tsvs):
        Path(tsv).parent.mkdir(parents=True)
        Path(tsv).write_text(f"a\tb\n{i}\t<&>\n")
    pages_dir = f"{res}/{PAGES}"
    tsvs_to_html(tsvs, pages_dir)
    with pytest.raises(ValueError, match="does not end in"):
        tsvs_to_html(tsvs, f"{res}/tables")
    captions = page_captions(tables, tsvs, res)
    found = glob_wildcards(f"{pages_dir}/{{table}}.html").table
    assert sorted(found) == ["sub-01/func/sub-01_desc-scores.tsv", "sub-02/func/sub-02_desc-scores.tsv"]
    template = Environment().from_string((ROOT / "workflow/report/table.rst").read_text())
    for tsv in tsvs:
        table = str(Path(tsv).relative_to(res))
        page = Path(table_page(res, tsv))
        assert page == Path(pages_dir) / f"{table}.html"  # the page's path of today
        tsv_to_html(tsv, tmp_path / "alone.html")  # what report_table wrote
        assert page.read_bytes() == (tmp_path / "alone.html").read_bytes()
        sm = SimpleNamespace(
            params=SimpleNamespace(captions=captions), wildcards=SimpleNamespace(table=table)
        )
        assert template.render(snakemake=sm) == page_caption(tables, tsv)
        assert "Scores of **" + table[4:6] + "**." in captions[table]
        for name in ("category", "subcategory", "labels"):
            assert page_setting(tables, f"{res}/{table}", name) == page_setting(tables, tsv, name)
    assert page_setting(tables, tsvs[1], "labels") == {"subject": "02", "table": "scores - shown as a table"}
    # one short line in the report's params of each page, left out of the params trigger
    assert str(captions) == "<captions of 2 tables>" and not isinstance(captions, dict)
    assert dict(pickle.loads(pickle.dumps(captions))) == dict(captions)


def test_report_tables_rule_declares_one_folder_of_pages():
    text = (ROOT / "workflow/rules/report.smk").read_text()
    rule = text[text.index("rule report_tables:") :]
    assert 'directory(f"{R}/{TABLE_PAGES}")' in rule and 'patterns=["{table}.html"]' in rule
    assert "wildcards" not in rule.split("output:")[0]
    assert "rule report_table:" not in text
