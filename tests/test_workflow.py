"""The real demo through Snakemake: outputs, report, no-op rerun, determinism, bad input.

These tests run ``snakemake`` in a temporary copy of the workflow, on the embedded real
data (the cect 0.3.5 wheel is downloaded once into the neuroflow cache).
"""

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from neuroflow.devtools import copy_workflow, run_snakemake, set_active_stages

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow


def make_workdir(dest: Path) -> Path:
    """A copy of the workflow with only the connectome stage on (the foundation tests)."""
    work = copy_workflow(dest, ROOT)
    set_active_stages(work, ["connectome"])
    return work


def run(workdir: Path, *args, check=True):
    proc = run_snakemake(workdir, *args)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def digests(results: Path) -> dict[str, str]:
    return {
        str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(results.rglob("*"))
        if p.is_file() and p.suffix in {".nc", ".tsv", ".json", ".png", ".html"} and p.name != "report.html"
    }  # the report embeds its creation time


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("demo"))
    run(workdir)
    return workdir


def test_dry_run_lists_every_job(tmp_path):
    workdir = make_workdir(tmp_path / "w")
    out = run(workdir, "-n").stdout
    for rule in (
        "homogenize_connectome",
        "consensus_connectome",
        "methods_report",
        "fetch_cook_2019_herm",
        "dataset_description",
    ):
        assert rule in out
    assert "total" in out


def test_lint_reports_nothing(tmp_path):
    workdir = make_workdir(tmp_path / "w")
    proc = run(workdir, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr


def test_demo_outputs_are_well_formed(demo):
    conn = demo / "results/group/connectome"
    cfg = yaml.safe_load((demo / "config/config.yaml").read_text())
    for sid in cfg["connectome"]["sources"]:
        with xr.open_dataset(conn / f"source-{sid}_desc-homogenized_connectome.nc", engine="h5netcdf") as ds:
            assert ds["weight"].dims == ("synapse_type", "pre", "post")
            assert ds.sizes["pre"] == ds.sizes["post"] == 300
            assert list(ds["pre"].values) == sorted(ds["pre"].values)
            gap = ds["weight"].sel(synapse_type="electrical").values
            np.testing.assert_array_equal(gap, gap.T)
            assert (ds["weight"].values >= 0).all()
            assert ds.attrs["source_id"] == sid and "sha256" in ds.attrs["inputs"]
            assert ds["weight"].attrs["units"]
    with xr.open_dataset(conn / "desc-consensus_connectome.nc", engine="h5netcdf") as cons:
        assert cons.sizes["source"] == len(cfg["connectome"]["sources"])
        n = cons["n_sources"].values
        assert (n <= cons["n_observing"].values).all()
        sup = cons["support"].values
        assert np.nanmax(sup) <= 1 and np.nanmin(sup) >= 0
        assert (n == cons["present"].values.sum(axis=0)).all()
    summary = pd.read_csv(conn / "desc-sources_summary.tsv", sep="\t")
    assert set(summary["source"]) == set(cfg["connectome"]["sources"])
    assert (demo / "results/group/connectome/desc-sources_summary.json").exists()
    desc = yaml.safe_load((demo / "results/dataset_description.json").read_text())
    assert desc["GeneratedBy"][0]["Name"] == "neuroflow"
    methods = (demo / "results/group/desc-methods_report.html").read_text()
    assert "Simeon" in methods and "Cook SJ" in methods and "Witvliet" in methods
    for fig in ("desc-consensus_connectome.png", "desc-agreement_connectome.png"):
        assert (demo / "results/group/figures" / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_output_follows_the_output_stamp(demo):
    """BIDS tabular sidecars, the NetCDF attribute schema and the one ``simulated`` encoding
    on every output of the run (units parsed by pint)."""
    import pint

    from neuroflow.output_schema import check_output_tree

    problems = check_output_tree(demo / "results", parse_units=pint.UnitRegistry().parse_units)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


def test_second_run_does_nothing(demo):
    proc = run(demo, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_report_is_written_with_figures_and_captions(demo):
    run(demo, "--report", "results/report.html")
    html = (demo / "results/report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    for needle in (
        "desc-consensus_connectome.png",
        "desc-agreement_connectome.png",
        "desc-methods_report.html",
        "Consensus connectome of the 300",
    ):
        assert needle in html


def test_two_runs_from_scratch_are_byte_identical(demo, tmp_path):
    other = make_workdir(tmp_path / "again")
    run(other)
    first, second = digests(demo / "results"), digests(other / "results")
    assert first.keys() == second.keys() and len(first) > 20
    assert first == second


@pytest.mark.parametrize(
    "override, needle",
    [
        ({"connectome": {"bogus_key": 1}}, "bogus_key"),
        ({"connectome": {"gap_junction_reduce": 3}}, "gap_junction_reduce"),
        ({"connectome": {"cell_table": "missing_cells.tsv"}}, "missing_cells.tsv"),
        ({"connectome": {"consensus": {"sources": ["nosuchsource"]}}}, "nosuchsource"),
    ],
)
def test_bad_config_stops_before_any_job_naming_the_key(tmp_path, override, needle):
    workdir = make_workdir(tmp_path / "w")
    (workdir / "bad.yaml").write_text(yaml.safe_dump(override))
    proc = run(workdir, "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    assert needle in proc.stdout + proc.stderr
    assert not (workdir / "results").exists()


def test_corrupt_table_fails_clearly_and_keeps_other_outputs(tmp_path):
    workdir = make_workdir(tmp_path / "w")
    data = "resources/data/cect-0.3.5/cect/data"
    run(workdir, f"{data}/witvliet_2020_8 adult.xlsx")  # fetches the Witvliet files
    original = workdir / data / "witvliet_2020_8 adult.xlsx"
    (workdir / "broken.xlsx").write_bytes(original.read_bytes()[: original.stat().st_size // 2])
    cfg = yaml.safe_load((workdir / "config/config.yaml").read_text())
    cfg["connectome"]["sources"] = {
        "animal7": {"reader": "witvliet_2021", "dataset": "witvliet_2021", "files": [6]},
        "broken": {"reader": "witvliet_2021", "paths": ["broken.xlsx"]},
    }
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    proc = run(workdir, "--keep-going", check=False)
    conn = workdir / "results/group/connectome"
    assert proc.returncode != 0
    assert (conn / "source-animal7_desc-homogenized_connectome.nc").exists()
    assert not (conn / "source-broken_desc-homogenized_connectome.nc").exists()
    assert not [p for p in conn.iterdir() if p.name.startswith(".")]  # no temp files left
    log = (workdir / "results/logs/connectome/source-broken_homogenize.log").read_text()
    assert "broken.xlsx" in log
    assert "broken.xlsx" in proc.stdout + proc.stderr


def test_report_renders_in_a_real_browser_without_errors(demo):
    """Headless Chromium opens the report, shows the stage pages, logs no console error."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (tests/system/install.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    report = demo / "results/report.html"
    if not report.exists():
        run(demo, "--report", "results/report.html")
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(report.resolve().as_uri())
        bodies = []
        for sub in ("2 agreement between sources", "3 consensus"):  # pipeline order
            page.get_by_text("Connectome homogenization").first.click()  # "3 Connectome ..."
            page.wait_for_timeout(500)
            page.get_by_text(sub, exact=True).first.click()
            page.wait_for_timeout(500)
            bodies.append(page.inner_text("body"))
        browser.close()
    assert errors == []
    assert "source agreement (figure)" in bodies[0] and "consensus support (figure)" in bodies[1]


def _jobs_to_run(proc) -> dict[str, int]:
    """Parse snakemake's 'Job stats' table of a dry run into {rule: count}."""
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:")[1].split("\n\n")[0]
    rows = [line.split() for line in table.strip().splitlines()[2:]]
    return {r[0]: int(r[1]) for r in rows if len(r) == 2 and r[0] != "total"}


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            {"connectome": {"consensus": {"normalization": "mean"}}},
            {"consensus_connectome": 1, "report_tables": 1, "methods_report": 1, "all": 1},
        ),
        (
            {"connectome": {"gap_junction_reduce": "max"}},
            {
                "homogenize_connectome": 12,
                "consensus_connectome": 1,
                "report_tables": 1,
                "methods_report": 1,
                "all": 1,
            },
        ),
    ],
)
def test_changing_a_parameter_reruns_exactly_the_affected_jobs(demo, tmp_path, change, expected):
    (tmp_path / "change.yaml").write_text(yaml.safe_dump(change))
    proc = run(demo, "-n", "--configfile", str(tmp_path / "change.yaml"))
    assert _jobs_to_run(proc) == expected


def test_second_cohort_gets_its_own_results_and_leaves_the_first_untouched(demo):
    before = digests(demo / "results")
    run(demo, "--configfile", "config/cohorts/adult-em.yaml")
    run(demo, "--configfile", "config/cohorts/adult-em.yaml", "--report", "results-adultem/report.html")
    assert digests(demo / "results") == before
    cohort = demo / "results-adultem/group/connectome"
    with xr.open_dataset(cohort / "desc-consensus_connectome.nc", engine="h5netcdf") as cons:
        assert sorted(cons["source"].values) == [
            "cook2019herm",
            "durbin1987",
            "varshney2011",
            "white1986whole",
            "witvliet2021animal7",
            "witvliet2021animal8",
        ]
    assert (demo / "results-adultem/report.html").exists()
