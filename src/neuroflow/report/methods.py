"""Provenance files: dataset_description.json and the generated methods paragraph."""

from __future__ import annotations

import importlib
from pathlib import Path

from neuroflow.codestamp import code_version
from neuroflow.provenance import atomic_write, write_json
from neuroflow.report.categories import section_title
from neuroflow.report.citation import (
    build_methods_text,
    render_bibtex,
    render_html,
    render_markdown,
)
from neuroflow.resources import load_manifest


def write_dataset_description(path, bids_dir="", derivatives=()) -> None:
    """BIDS-derivatives ``dataset_description.json`` and ``.bidsignore`` beside it.

    ``GeneratedBy`` lists neuroflow (version, git commit) first, then carries forward the
    ``GeneratedBy`` of every input derivatives folder (fMRIPrep, XCP-D, ...), as XCP-D
    does; ``SourceDatasets`` names the raw BIDS dataset and those folders. ``group/`` and
    ``logs/`` are not BIDS and are listed in ``.bidsignore``.
    """
    from neuroflow.bids import generated_by

    code = code_version()
    if code["commit"]:
        described = f"git commit {code['commit']}" + (
            " with uncommitted changes to src/ or workflow/" if code["dirty"] else ""
        )
    else:
        described = "installed package (no git checkout)"
    generated = [{"Name": "neuroflow", "Version": code["label"], "Description": described}]
    sources = []
    for folder in [bids_dir, *derivatives]:
        if not folder:
            continue
        sources.append({"URL": Path(folder).resolve().as_uri()})
    for folder in derivatives:
        generated += [g for g in generated_by(folder) if isinstance(g, dict)]
    desc = {
        "Name": "neuroflow derivatives",
        "BIDSVersion": "1.9.0",
        "DatasetType": "derivative",
        "GeneratedBy": generated,
        "HowToAcknowledge": "Cite the methods and datasets listed in group/CITATION.md "
        "(BibTeX: group/CITATION.bib).",
        "License": "Outputs inherit the licences of their input datasets (see the methods page)",
    }
    if sources:
        desc["SourceDatasets"] = sources
    write_json(desc, path)
    with atomic_write(Path(path).with_name(".bidsignore")) as tmp:
        tmp.write_text("group/\nlogs/\nfigures/\n")


# stage -> module providing ``methods_text(config, manifest) -> (paragraphs, references)``,
# in pipeline order (the order of the report's categories)
STAGE_METHODS = {
    "fmri": "neuroflow.fmri.methods",
    "eeg": "neuroflow.eeg.methods",
    "connectome": "neuroflow.homogenize.methods",
    "activity": "neuroflow.activity.methods",
    "fc": "neuroflow.fc.methods",
    "bicluster": "neuroflow.bicluster.methods",
    "trsa": "neuroflow.rsa.methods",
    "encoding": "neuroflow.encoding.methods",
}
# stage -> section title on the methods page (its report category without the number)
STAGE_TITLES = {stage: section_title(stage) for stage in STAGE_METHODS}


def collect_methods(config: dict, manifest: dict) -> list[tuple[str, list[str], list[str]]]:
    """``(stage, paragraphs, references)`` for every activated stage, in pipeline order."""
    from neuroflow.config import is_activated

    out = []
    for stage, module in STAGE_METHODS.items():
        if is_activated(config, stage):
            paras, refs = importlib.import_module(module).methods_text(config, manifest)
            out.append((stage, paras, refs))
    return out


def write_methods(config: dict, manifest_path, html_out, markdown_out, bibtex_out) -> None:
    """Write the methods of every activated stage as HTML, Markdown and BibTeX.

    Built from the config and the outputs' own records (their tables and sidecars), so
    that the text says what was applied, with the versions the outputs recorded.
    """
    sections = [
        (STAGE_TITLES[stage], paras, refs)
        for stage, paras, refs in collect_methods(config, load_manifest(manifest_path))
    ]
    methods = build_methods_text(config, sections)
    for out, text in (
        (html_out, render_html(methods)),
        (markdown_out, render_markdown(methods)),
        (bibtex_out, render_bibtex(methods)),
    ):
        with atomic_write(out) as tmp:
            tmp.write_text(text)
