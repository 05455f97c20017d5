"""Every file a job writes is a declared output of its rule (issue 18, item 4).

The rules are read from the real workflow (loaded by Snakemake in a subprocess, every demo
stage switched on; nothing runs). Two checks:

- statically, over every rule: a table written by ``provenance.write_tsv`` always gets a
  JSON sidecar (same name, ``.json``), so each declared ``.tsv`` needs its ``.json``;
- by running the connectome stage's package functions on two tiny tables into the very
  paths the rules declare: the files that appear are exactly the declared ones.

(A failed write leaves no temporary file: test_reliability_outputs.)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COHORTS = ["demo", "fmri-demo", "fc-demo", "bicluster-demo", "encoding-demo"]

DUMP_RULES = r"""
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import (ConfigSettings, OutputSettings, ResourceSettings,
                                      StorageSettings)
with SnakemakeApi(OutputSettings()) as api:
    workflow = api.workflow(
        resource_settings=ResourceSettings(), storage_settings=StorageSettings(),
        config_settings=ConfigSettings(configfiles=[Path(p) for p in sys.argv[1:]]),
        snakefile=Path("Snakefile"), workdir=Path.cwd())._workflow
    rules = {}
    for rule in workflow.rules:
        names = {i: n for n, (i, end) in rule.output._names.items() if end is None}
        rules[rule.name] = [{"name": names.get(i), "pattern": str(f),
                             "regex": f.regex().pattern} for i, f in enumerate(rule.output)]
print("RULES=" + json.dumps(rules))
"""


@pytest.fixture(scope="module")
def rules() -> dict[str, list[dict]]:
    """Rule name -> its outputs (``name``, ``pattern``, ``regex``), demo configs loaded."""
    configs = [f"config/cohorts/{c}.yaml" for c in COHORTS]
    proc = subprocess.run(
        [sys.executable, "-c", DUMP_RULES, *configs],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    line = [x for x in proc.stdout.splitlines() if x.startswith("RULES=")]
    assert proc.returncode == 0 and line, proc.stderr[-3000:]
    return json.loads(line[0].removeprefix("RULES="))


def test_every_declared_table_declares_its_json_sidecar(rules):
    assert {
        "homogenize_connectome",
        "consensus_connectome",
        "eeg_group",
        "fc_benchmark",
        "encoding_fit_attention",
        "bicluster_recording",
        "fmri_group",
    } <= set(rules)
    missing = {
        name: [
            o["pattern"]
            for o in outs
            if o["pattern"].endswith(".tsv")
            and o["pattern"][:-4] + ".json" not in {p["pattern"] for p in outs}
        ]
        for name, outs in rules.items()
    }
    assert {name: m for name, m in missing.items() if m} == {}


def _output_blocks(text: str):
    """Yield the lines of every ``output:`` block of a rule file (deeper-indented lines)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() != "output:":
            continue
        indent, block = len(line) - len(line.lstrip()), []
        for nxt in lines[i + 1 :]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            block.append(nxt)
        yield i + 1, "\n".join(block)


def test_every_table_in_every_rule_file_declares_its_json_sidecar():
    """Text check of all rule files, rules behind any switch included."""
    missing = []
    for smk in sorted((REPO / "workflow/rules").glob("*.smk")):
        for line, block in _output_blocks(smk.read_text()):
            for prefix, exts in re.findall(r'multiext\(\s*f?"([^"]+)",([^)]*)\)', block):
                block += "".join(f' "{prefix}{e}"' for e in re.findall(r'"([^"]+)"', exts))
            paths = set(re.findall(r'f?"([^"]+)\.(tsv|json)"', block))
            missing += [
                f"{smk.name}:{line}: {stem}.tsv"
                for stem, ext in paths
                if ext == "tsv" and (stem, "json") not in paths
            ]
    assert missing == []


def _paths(rules, rule: str, results: Path, **wildcards) -> dict[str, Path]:
    """The declared outputs of `rule` (by name) under `results`, wildcards filled in."""
    out = {}
    for o in rules[rule]:
        plain = re.sub(r"\{(\w+)(,[^{}]*(\{[^{}]*\}[^{}]*)*)?\}", r"{\1}", o["pattern"])
        out[o["name"]] = results.parent / plain.format(**wildcards)
    return out


def _declared(rules, names, relative: str) -> bool:
    return any(re.fullmatch(o["regex"], relative) for n in names for o in rules[n])


def test_the_connectome_stage_writes_only_declared_outputs(rules, tmp_path):
    from neuroflow.homogenize.pipeline import consensus_files, homogenize_source_files

    results = tmp_path / "results"  # config results_dir of the demo: "results"
    tables = {
        "srca": "pre\tpost\ttype\tsynapses\nADAL\tAIBL\tchemical\t3\n"
        "AVAL\tAVAR\telectrical\t10\nXYZ1\tAVAL\tchemical\t1\n",
        "srcb": "pre\tpost\ttype\tsynapses\nADAL\tAIBL\tchemical\t5\nAVAL\tAVAR\telectrical\t2\n",
    }
    ncs = []
    for source, text in tables.items():
        table = tmp_path / f"{source}.csv"
        table.write_text(text)
        out = _paths(rules, "homogenize_connectome", results, source=source)
        homogenize_source_files(
            [table],
            source_id=source,
            reader="white_1986_whole",
            reader_options={},
            cell_table=REPO / "resources/celegans/cells.tsv",
            aliases=REPO / "resources/celegans/aliases.tsv",
            exclude=[],
            gap_reduce="mean",
            citation="",
            label=source,
            out_nc=out["nc"],
            out_unmapped=out["unmapped"],
        )
        ncs.append(out["nc"])
    out = _paths(rules, "consensus_connectome", results)
    consensus_files(
        ncs,
        series={},
        normalization="none",
        cell_table=REPO / "resources/celegans/cells.tsv",
        **{f"out_{k}": out[k] for k in ("nc", "edges", "summary", "jaccard", "degree")},
        fig_consensus=out["fig_consensus"],
        fig_agreement=out["fig_agreement"],
    )
    written = sorted(p.relative_to(tmp_path).as_posix() for p in results.rglob("*") if p.is_file())
    assert len(written) == 2 * 3 + len(rules["consensus_connectome"])
    undeclared = [
        p for p in written if not _declared(rules, ["homogenize_connectome", "consensus_connectome"], p)
    ]
    assert undeclared == []


def test_dataset_description_writes_only_declared_outputs(rules, tmp_path):
    from neuroflow.report.methods import write_dataset_description

    results = tmp_path / "results"
    out = _paths(rules, "dataset_description", results)
    write_dataset_description(out[None])
    written = sorted(p.relative_to(tmp_path).as_posix() for p in results.rglob("*"))
    assert written and all(_declared(rules, ["dataset_description"], p) for p in written)
    assert len(written) == len(rules["dataset_description"])
