"""Paste-ready methods (issue 20): CITATION.md, CITATION.bib and the methods page of the demo
cohort, built from its config and small outputs written here (no workflow run)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from pybtex.database import parse_string

from neuroflow.config import fill_defaults
from neuroflow.devtools import demo_config, repo_root
from neuroflow.report.methods import write_methods
from neuroflow.report.references import LIBRARIES, as_citation, bibtex_entry
from neuroflow.schema_docs import load_schema

ROOT = repo_root()
STAGES = ("activity", "fmri", "eeg", "fc", "bicluster", "trsa", "encoding")
# what a config repr, an unset value or an internal word looks like in the text
FORBIDDEN = [r"\{'", r"\bNone\b", r"none Hz", r"\[\]", r"\bthe seed\b", r"\bTrue\b", r"\bFalse\b", r"\bnan\b"]
RECORDED_NUMPY = "9.8.7"  # a version only the outputs' sidecar knows


def _filled_demo(results: Path, **active) -> dict:
    """The demo cohort's config with the schemas' defaults filled, as common.smk does."""
    config = demo_config(ROOT)
    fill_defaults(config, load_schema(ROOT / "workflow/schemas/config.schema.yaml"))
    for stage in STAGES:
        fill_defaults(config[stage], load_schema(ROOT / f"workflow/schemas/{stage}.schema.yaml"))
    for stage, on in active.items():
        config[stage]["activate"] = on
    config["results_dir"] = str(results)
    config["resources"]["manifest"] = str(ROOT / config["resources"]["manifest"])
    config["connectome"]["cell_table"] = str(ROOT / config["connectome"]["cell_table"])
    return config


def _small_outputs(results: Path) -> None:
    """What the consensus rule writes that the methods read, and a sidecar with versions."""
    group = results / "group/connectome"
    group.mkdir(parents=True)
    pd.DataFrame(
        {
            "source": ["white1986whole", "witvliet2021animal8"],
            "n_neurons_observed": [279, 180],
            "n_chemical_edges": [2194, 1450],
            "n_electrical_pairs": [514, 160],
        }
    ).to_csv(group / "desc-sources_summary.tsv", sep="\t", index=False)
    (group / "desc-sources_summary.json").write_text(
        json.dumps({"SoftwareVersions": {"numpy": RECORDED_NUMPY, "pandas": "1.0.0"}})
    )


def _methods(tmp_path_factory, name: str, **active) -> dict:
    results = tmp_path_factory.mktemp(name)
    _small_outputs(results)
    config = _filled_demo(results, **active)
    out = results / "group"
    write_methods(
        config, config["resources"]["manifest"], out / "m.html", out / "CITATION.md", out / "CITATION.bib"
    )
    return {
        "md": (out / "CITATION.md").read_text(),
        "bib": (out / "CITATION.bib").read_text(),
        "html": (out / "m.html").read_text(),
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    return _methods(tmp_path_factory, "demo")


@pytest.fixture(scope="module")
def demo_without_eeg(tmp_path_factory) -> dict:
    return _methods(tmp_path_factory, "noeeg", eeg=False)


@pytest.fixture(scope="module")
def all_stages(tmp_path_factory) -> dict:
    return _methods(tmp_path_factory, "all", fmri=True, fc=True, bicluster=True, encoding=True)


def _cited_libraries(bib: str) -> set[str]:
    return set(parse_string(bib, "bibtex").entries) & set(LIBRARIES)


@pytest.mark.parametrize("pattern", FORBIDDEN)
def test_demo_methods_text_has_no_config_repr_or_internal_word(demo, pattern):
    body = demo["md"].split("## References")[0]
    hits = [m.group(0) for m in re.finditer(pattern, body)]
    assert not hits, f"{pattern!r} in CITATION.md: {hits[:3]}"


@pytest.mark.parametrize("pattern", FORBIDDEN)
def test_every_stage_methods_text_has_no_config_repr(all_stages, pattern):
    body = all_stages["md"].split("## References")[0]
    hits = [m.group(0) for m in re.finditer(pattern, body)]
    assert not hits, f"{pattern!r} in CITATION.md: {hits[:3]}"
    assert {"himalaya", "arviz", "statsmodels", "nibabel"} <= _cited_libraries(all_stages["bib"])


def test_demo_cites_every_library_whose_step_ran_and_none_other(demo):
    cited = _cited_libraries(demo["bib"])
    # connectome + activity (NWB), EEG (simulated + embedded, specparam and connectivity on),
    # tRSA (Haxby via BIDS, head direction, simulated networks)
    ran = {
        "snakemake",
        "numpy",
        "scipy",
        "pandas",
        "xarray",
        "pynwb",
        "mne",
        "mne_connectivity",
        "specparam",
        "rsatoolbox",
        "nilearn",
        "sklearn",
        "torch",
        "pybids",
    }
    not_ran = {"himalaya", "arviz", "pymc", "statsmodels", "mne_bids", "nibabel"}
    assert ran <= cited, f"not cited: {ran - cited}"
    assert not (not_ran & cited), f"cited although not run: {not_ran & cited}"


def test_demo_without_eeg_does_not_cite_mne(demo_without_eeg):
    cited = _cited_libraries(demo_without_eeg["bib"])
    assert not {"mne", "mne_connectivity", "specparam"} & cited
    assert "MNE-Python" not in demo_without_eeg["md"]
    assert "## EEG preprocessing" not in demo_without_eeg["md"]


def test_citation_bib_parses_with_one_entry_per_reference(demo):
    entries = parse_string(demo["bib"], "bibtex").entries
    listed = re.findall(r"^\d+\. .* \[`([^`]+)`\]$", demo["md"], flags=re.M)
    assert len(listed) == len(set(listed)) == len(entries)
    assert set(listed) == set(entries)
    # the recorded version of an output wins over the installed one
    assert f"| numpy | {RECORDED_NUMPY} |" in demo["md"]
    assert f"Version used: {RECORDED_NUMPY}" in entries["numpy"].fields["note"]
    assert entries["snakemake"].fields["doi"] == "10.12688/f1000research.29032.2"


def test_sections_follow_pipeline_order(demo):
    titles = re.findall(r"^## (.+)$", demo["md"], flags=re.M)
    assert titles[:5] == [
        "Workflow and software",
        "EEG preprocessing",
        "Connectome homogenization",
        "Neural activity and structure-function",
        "Topological RSA",
    ]
    assert "<h2>Software</h2>" in demo["html"] and "CITATION.bib" in demo["html"]


def test_one_paper_line_becomes_an_article_and_other_lines_a_note():
    paper = as_citation(
        "Power JD, Barnes KA, Snyder AZ, Schlaggar BL, Petersen SE (2012). "
        "Spurious but systematic correlations in functional connectivity MRI "
        "networks arise from subject motion. NeuroImage 59:2142-2154."
    )
    fields = dict(paper.fields)
    assert paper.entry_type == "article" and fields["journal"] == "NeuroImage"
    assert (fields["volume"], fields["pages"], fields["year"]) == ("59", "2142--2154", "2012")
    assert fields["author"].startswith("Power, J. D. and Barnes, K. A.")
    two = as_citation(
        "Bell AJ, Sejnowski TJ (1995). A. Neural Comput 7:1129-1159; Lee TW (1999). "
        "B {unbalanced. Neural Comput 11:417-441."
    )
    assert two.entry_type == "misc"
    entry = parse_string(bibtex_entry(two), "bibtex").entries[two.key]
    assert "Lee TW (1999)" in entry.fields["note"]
