"""One job per fMRI subject (or run): the rules' groups and the fused entry points.

The fused entry (:func:`neuroflow.fmri.runjob.process_run`) must write byte for byte what
the step functions write one by one (a tiny SIMULATED fMRIPrep run, two strategies); the
subject and run groups must give each subject / run to exactly one rule; a cohort with more
run layouts than subject rules is planned one job per run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from neuroflow.fmri import pipeline as P
from neuroflow.fmri.inputs import MAX_SUBJECT_RULES, run_groups, stems_regex, subject_groups
from neuroflow.fmri.qc import QCSettings
from neuroflow.fmri.runjob import RunOutputs, RunSettings, process_run, split_outputs
from neuroflow.fmri.simulate import SPACE, make_atlas, make_fmriprep_run

STRATEGIES = {
    "simple": {"loader": "simple", "options": {"motion": "basic"}},
    "scrub": {"loader": "scrubbing", "options": {"fd_threshold": 0.5}},
}


REPO = Path(__file__).resolve().parents[1]


def _rows():
    rows = [
        {
            "stem": f"sub-{s}_task-a_run-{r}_space-X_res-{q}",
            "kind": "volume",
            "sub": s,
            "folder": f"sub-{s}/func",
            "atlases": "toy",
            "strategies": "simple",
        }
        for s in ("01", "02", "10", "100")
        for r in (1, 2)
        for q in (1, 2)
    ]
    rows.append(
        {
            "stem": "sub-01_task-b_space-fsaverage5",
            "kind": "surface",
            "sub": "01",
            "folder": "sub-01/func",
            "atlases": "s100,s400",
            "strategies": "simple",
        }
    )
    rows.append(
        {
            "stem": "sub-02_task-b_space-fsaverage5",
            "kind": "surface",
            "sub": "02",
            "folder": "sub-02/func",
            "atlases": "s100",
            "strategies": "simple",
        }
    )
    rows.append(
        {
            "stem": "sub-03",
            "kind": "timeseries",
            "atlases": "aal",
            "strategies": "none",
            "sub": "03",
            "folder": "sub-03/func",
        }
    )
    return rows


def test_run_groups_give_every_run_to_exactly_one_rule():
    rows = _rows()
    groups = run_groups(rows)
    assert [g.rule for g in groups] == [
        "fmri_run_volume",
        "fmri_run_surface",
        "fmri_run_surface2",
        "fmri_run_timeseries",
    ]
    assert groups[0].stem_regex == "" and len(groups[0].stems) == 16  # largest: ruleorder last
    assert groups[1].atlases == ("s100",) and groups[2].atlases == ("s100", "s400")
    for row in rows:
        owners = [g.rule for g in groups[1:] if re.fullmatch(g.stem_regex, row["stem"])]
        expected = next(g.rule for g in groups if row["stem"] in g.stems)
        assert owners == ([] if expected == "fmri_run_volume" else [expected])


def test_subject_groups_give_every_subject_to_exactly_one_rule():
    rows = _rows()
    groups = subject_groups(rows)
    # 10 and 100 share a layout; 01, 02 (surface runs with other atlases) and 03 have their own
    assert [g.subjects for g in groups] == [("10", "100"), ("03",), ("02",), ("01",)]
    assert groups[0].rule == "fmri_subject" and groups[0].sub_regex == ""
    assert len(groups[0].runs) == 4 and groups[0].runs[0].stem == "_task-a_run-1_space-X_res-1"
    assert groups[3].atlases == ("s100", "s400", "toy")
    for sub in ("01", "02", "03", "10", "100"):
        owners = [g.rule for g in groups[1:] if re.fullmatch(g.sub_regex, sub)]
        assert owners == [g.rule for g in groups[1:] if sub in g.subjects]
    assert subject_groups(rows, max_rules=3) is None  # too many layouts: one job per run


def test_split_outputs_gives_each_run_its_files():
    layout = [(("a",), ("s", "t")), (("a", "b"), ("s",))]
    runs = split_outputs(
        layout,
        ["r1s", "r1t", "r2s"],
        ["r1a", "r2a", "r2b"],
        ["r1as", "r1at", "r2as", "r2bs"],
        ["q1", "q2"],
        ["c1", "c2"],
        ["p1", "p2"],
    )
    assert runs[0].denoised == {("a", "s"): "r1as", ("a", "t"): "r1at"}
    assert runs[1].regressors == {"s": "r2s"} and runs[1].raw == {"a": "r2a", "b": "r2b"}
    assert runs[1].denoised == {("a", "s"): "r2as", ("b", "s"): "r2bs"} and runs[1].qc == "q2"
    with pytest.raises(ValueError, match="layout of 2 runs"):
        split_outputs(
            layout,
            ["r1s", "r1t", "r2s", "extra"],
            ["r1a", "r2a", "r2b"],
            ["r1as", "r1at", "r2as", "r2bs"],
            ["q1", "q2"],
            ["c1", "c2"],
            ["p1", "p2"],
        )


def test_stems_regex_matches_exactly_its_stems():
    stems = ["sub-1_task-a", "sub-10_task-a", "sub-2", "sub-2_task-a_run-1"]
    rx = re.compile(stems_regex(stems))
    assert all(rx.fullmatch(s) for s in stems)
    for other in ("sub-1", "sub-100_task-a", "sub-2_task-a", "sub-3", "sub-1_task-a_run-1", "sub-1.task-a"):
        assert not rx.fullmatch(other), other


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    from neuroflow.fmri.index import build_index

    root = tmp_path_factory.mktemp("deriv")
    make_fmriprep_run(root, n_volumes=40, high_motion=(10, 11))
    atlas = make_atlas(root / "tpl-slab_dseg.nii.gz")
    row = (
        build_index(
            None, [root], strategies=list(STRATEGIES), atlases={"slab": {"space": SPACE, "path": "x"}}
        )
        .iloc[0]
        .to_dict()
    )
    return row, {"slab": {"space": SPACE, "path": str(atlas)}}


def _files(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_process_run_writes_the_bytes_of_the_steps_one_by_one(sim, tmp_path):
    row, atlases = sim
    settings = RunSettings(0.5, 0.0, QCSettings(0.5, 100, 500, 1e-3))
    clean = {"standardize": "zscore_sample", "standardize_confounds": True}
    strategies = {
        k: P.strategy_params({"fmri": {"strategies": STRATEGIES, "clean": clean}}, k) for k in STRATEGIES
    }
    out = RunOutputs.from_lists(
        atlases,
        strategies,
        [tmp_path / f"{s}_reg.tsv" for s in strategies],
        [tmp_path / "slab_raw.tsv"],
        [tmp_path / f"slab_{s}.tsv" for s in strategies],
        tmp_path / "qc.tsv",
        tmp_path / "carpet.png",
        tmp_path / "panels.png",
    )
    for name, strategy in strategies.items():  # the steps, as the former rules ran them
        P.run_confounds(row, name, strategy, 0.5, 0.0, out.regressors[name], 1e-3)
    P.run_parcellate(row, "slab", atlases["slab"], out.raw["slab"], 1e-3)
    for name, strategy in strategies.items():
        P.run_denoise(out.raw["slab"], out.regressors[name], name, strategy, out.denoised[("slab", name)])
    P.run_qc(row, strategies, out.regressors, settings.qc, out.qc, out.carpet, out.panels)
    steps = _files(tmp_path)
    for p in tmp_path.iterdir():
        p.unlink()
    process_run(row, strategies, atlases, settings, out)
    assert len(steps) == 14 and _files(tmp_path) == steps


def test_outputs_in_the_wrong_number_are_refused(tmp_path):
    with pytest.raises(ValueError, match="denoised: 1 files for 2 names"):
        RunOutputs.from_lists(["a"], ["s", "t"], ["r1", "r2"], ["raw"], ["d"], "q", "c", "p")


@pytest.mark.workflow
def test_many_run_layouts_are_planned_one_job_per_run(tmp_path):
    """More layouts than subject rules (one task per subject): one job per run, and the
    subject pages as jobs of their own."""
    from neuroflow.devtools import copy_workflow, run_snakemake

    deriv = tmp_path / "deriv"
    subjects = [f"{i:02d}" for i in range(MAX_SUBJECT_RULES + 1)]
    for i, sub in enumerate(subjects):
        make_fmriprep_run(deriv, sub=sub, task=f"t{i}", n_volumes=10)
    work = copy_workflow(tmp_path / "wf", REPO)
    base = yaml.safe_load((work / "config/config.yaml").read_text()) or {}
    cfg = {
        name: {"activate": False}
        for name, section in base.items()
        if isinstance(section, dict) and "activate" in section
    }
    cfg["connectome"] = {"activate": False}
    cfg["derivatives"] = [str(deriv)]
    cfg["fmri"] = {
        "activate": True,
        "sample_sheet": "",
        "datasets": [],
        "scan": {"strategies": ["simple"]},
        "strategies": {"simple": STRATEGIES["simple"]},
        "atlases": {"slab": {"space": SPACE, "path": str(make_atlas(tmp_path / "tpl-slab_dseg.nii.gz"))}},
    }
    (work / "runs.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(work, "-n", "--configfile", "runs.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    jobs = dict(re.findall(r"^(fmri_\w+)\s+(\d+)$", proc.stdout, re.M))
    assert jobs["fmri_run_volume"] == jobs["fmri_subject_report"] == str(len(subjects))
    assert not [rule for rule in jobs if rule.startswith("fmri_subject") and rule[12:13] != "_"]
    for i, sub in enumerate(subjects):
        stem = f"sub-{sub}_task-t{i}_run-1_space-{SPACE}"
        assert f"results/sub-{sub}/func/{stem}_atlas-slab_desc-simple_timeseries.tsv" in out


def test_fixed_params_keeps_what_snakemake_passes_to_a_function():
    """by_attempt's callable (and the rule files' input functions) keep their parameters
    for Snakemake: the same keyword arguments reach them, without a signature per call."""
    from snakemake.common import (
        FUNC_OVERWRITE_PARAMS_ATTR,
        get_function_params,
        get_input_function_aux_params,
    )

    from neuroflow.config import by_attempt, fixed_params

    grown = by_attempt(1000)
    assert getattr(grown, FUNC_OVERWRITE_PARAMS_ATTR, None) is not None  # stored, not re-read
    assert list(get_function_params(grown)) == ["wildcards", "attempt"]
    assert get_input_function_aux_params(grown, {"attempt": 3, "input": []}) == {"attempt": 3}
    assert grown({}, **get_input_function_aux_params(grown, {"attempt": 3})) == 3000
    rows = fixed_params(lambda wildcards, input: input)
    assert get_input_function_aux_params(rows, {"input": ["a"], "threads": 1}) == {"input": ["a"]}
