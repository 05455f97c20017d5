"""The trsa stage alone through Snakemake: outputs, no-op rerun, byte-identical reruns.

Runs in a scratch copy of the workflow with every other stage switched off and a small
trsa configuration (the real Haxby and head-direction files, a tiny simulation).
"""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from neuroflow.devtools import copy_workflow, demo_config, run_snakemake

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow

SMALL = {
    "statistics": [
        {"kind": "rdm"},
        {"kind": "rgtm", "lower": 0.45, "upper": 0.55},
        {"kind": "rgdm", "lower": 0.1, "upper": 0.9},
    ],
    "haxby": {"n_boot": 20},
    "headdirection": {"n_boot": 20, "n_bins": 24},
    "networks": {
        "n_instances": 3,
        "conv_channels": [4, 4],
        "fc_units": [8],
        "epochs": 2,
        "stimuli_per_class": 2,
    },
    "identification": {
        "noise_levels": [0.0, 1.0],
        "n_repeats": 1,
        "grid_resolution": 0.25,
        "grid_noise_levels": [0.0],
        "family_samples": 1,
        "n_boot": 10,
    },
}


def only_trsa_config(workdir: Path) -> Path:
    """Switch every other stage off (the activity stage only reads the A2929 units, the
    head-direction RDM's input) and shrink the trsa analyses; return the file."""
    default = yaml.safe_load((workdir / "config/config.yaml").read_text())
    hd = default["trsa"].setdefault("headdirection", {})
    if [hd.pop(k) for k in ("dataset", "subject") if k in hd]:  # keys moved (issue 17)
        (workdir / "config/config.yaml").write_text(yaml.safe_dump(default, sort_keys=False))
    cfg = {
        stage: {"activate": False}
        for stage, section in default.items()
        if isinstance(section, dict) and stage not in ("resources", "trsa")
    }
    cfg["activity"] = {
        "activate": True,
        "recordings": {},
        "bids": {"activate": False},
        "spikes": {"A2929": {"dataset": "pynapple_a2929_neurosuite"}},
        "funatlas": {"activate": False},
        "structure_function": {"activate": False},
    }
    cfg["trsa"] = {"activate": True, **SMALL}
    cfg["trsa"]["headdirection"] = {**SMALL["headdirection"], "recording": "A2929"}
    path = workdir / "only_trsa.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run(workdir, *args, check=True):
    proc = run_snakemake(workdir, "--configfile", "only_trsa.yaml", *args)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def digests(results: Path) -> dict[str, str]:
    return {
        str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(results.rglob("*"))
        if p.is_file() and p.suffix in {".nc", ".tsv", ".json", ".png", ".html"}
    }


def test_trsa_stage_runs_is_idempotent_and_deterministic(tmp_path):
    workdir = copy_workflow(tmp_path / "w", ROOT)
    only_trsa_config(workdir)
    run(workdir)
    res = workdir / "results"
    haxby = res / "sub-1/func/sub-1_task-objectviewing"
    with xr.open_dataset(f"{haxby}_desc-crossnobis_rdm.nc", engine="h5netcdf") as ds:
        assert ds.sizes["pair"] == 28 and ds.attrs["simulated"] == 0
    # the same subject through the task-fMRI route (BIDS tree -> nilearn GLM per run ->
    # crossnobis per region; the mask is the one region) gives the same RDM
    task = f"{haxby}_space-native_desc-crossnobis_rdm.nc"
    with (
        xr.open_dataset(task, engine="h5netcdf") as t,
        xr.open_dataset(f"{haxby}_desc-crossnobis_rdm.nc", engine="h5netcdf") as h,
    ):
        assert t["rdm"].dims == ("region", "pair") and t.sizes["region"] == 1
        assert list(t["condition"].values) == list(h["condition"].values)
        np.testing.assert_allclose(t["rdm"].values[0], h["rdm"].values, rtol=1e-5, atol=1e-9)
    models = pd.read_csv(f"{haxby}_desc-models_rsa.tsv", sep="\t")
    assert set(models["model"]) == {"animacy", "face", "house", "intact_vs_scrambled", "objects"}
    ring = pd.read_csv(res / "sub-A2929/ephys/sub-A2929_task-wake_desc-ringline_rsa.tsv", sep="\t")
    assert ring[(ring["statistic"] == "rdm") & (ring["rank"] == 1)]["model"].item() == "ring"
    noise = pd.read_csv(res / "group/trsa/desc-noise_identification.tsv", sep="\t")
    assert len(noise) == 2 * 3 and noise["accuracy"].between(0, 1).all()
    for png in res.rglob("*.png"):
        assert png.read_bytes()[:4] == b"\x89PNG"
    methods = (res / "group/desc-methods_report.html").read_text()
    assert "Lin B, Kriegeskorte N" in methods and "Haxby JV" in methods and "Pynapple" in methods
    dry = run(workdir, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr
    # the seeded analyses rerun to the same bytes (the network training is checked for
    # byte-identity in test_trsa_networks.py; rerunning everything from scratch costs ~40 s)
    first = digests(res)
    assert len(first) >= 20
    run(workdir, "--forcerun", "trsa_haxby_models", "trsa_headdirection", "trsa_identification")
    assert digests(res) == first


def test_bad_trsa_config_stops_before_any_job_naming_the_key(tmp_path):
    workdir = copy_workflow(tmp_path / "w", ROOT)
    path = only_trsa_config(workdir)
    cfg = yaml.safe_load(path.read_text())
    cfg["trsa"]["statistics"] = [{"kind": "rgtm", "lower": 0.9, "upper": 0.1}]
    path.write_text(yaml.safe_dump(cfg))
    proc = run(workdir, "-n", check=False)
    assert proc.returncode != 0
    assert "trsa.statistics[0]: need 0 <= lower <= upper" in proc.stdout + proc.stderr
    assert not (workdir / "results").exists()


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda c: c["haxby"].update(dataset="nope"), "trsa.haxby.dataset: 'nope' is not"),
        (
            lambda c: c["haxby"].update(dataset="pynapple_a2929_neurosuite"),
            "trsa.haxby.dataset: needs 3 files",
        ),
        (
            lambda c: c["identification"].update(rdms="missing.nc"),
            "trsa.identification.rdms: file not found: missing.nc",
        ),
        (
            lambda c: c["statistics"].append({"kind": "rgdm", "lower": 0.7, "upper": 0.2}),
            r"trsa.statistics\[1\]",
        ),
        (
            lambda c: c["headdirection"].update(dataset="pynapple_a2929_neurosuite"),
            r"trsa.headdirection.dataset: moved: trsa.headdirection.recording",
        ),
        (
            lambda c: c["headdirection"].update(subject="A2929"),
            r"trsa.headdirection.subject: moved: the outputs take the activity recording's",
        ),
    ],
)
def test_check_trsa_config_names_the_key(edit, needle):
    from neuroflow.resources import load_manifest
    from neuroflow.rsa.settings import check_trsa_config

    cfg = demo_config(ROOT)
    cfg["trsa"]["statistics"] = [{"kind": "rdm"}]
    for old in ("dataset", "subject"):  # moved keys (issue 17)
        cfg["trsa"]["headdirection"].pop(old, None)
    edit(cfg["trsa"])
    with pytest.raises(ValueError, match=needle):
        check_trsa_config(cfg, load_manifest(ROOT / "resources/datasets.yaml"))
