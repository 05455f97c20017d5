"""Spike recordings in a BIDS / DANDI tree and counts tables -> the activity stage's counts
files -> the bi-clustering.

The tree (written with pynwb) has 2 subjects, one with 2 sessions; every unit's spike times
are known, so the counts are checked against numpy.histogram bin for bin.
"""

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from neuroflow.activity.inputs import counts_path, spike_recordings
from neuroflow.activity.pipeline import counts_file
from neuroflow.activity.readers import ActivityReadError
from neuroflow.activity.spikes import read_counts_table, read_nwb_counts
from neuroflow.bicluster import pipeline as BP
from neuroflow.bids import BIDSInputError
from neuroflow.config import ConfigError

REPO = Path(__file__).resolve().parents[1]
#: relative path -> (seed, with epochs, locations from the electrodes table)
FILES = {
    "sub-01/ses-1/ecephys/sub-01_ses-1_ecephys.nwb": (1, True, False),
    "sub-01/ses-2/ecephys/sub-01_ses-2_ecephys.nwb": (2, False, True),
    # DANDI-style: the file sits in the subject folder, the session only in its name
    "sub-02/sub-02_ses-3_ecephys.nwb": (3, False, False),
}
LOCATIONS = ["CA1", "ADn", "CA1"]
DURATION = 40.0


def spike_trains(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.sort(rng.uniform(0.0, DURATION, size=n)) for n in (50, 120, 7)]


def write_nwb(path: Path, seed: int, epochs: bool, electrodes: bool) -> None:
    from pynwb import NWBHDF5IO, NWBFile

    nwb = NWBFile(
        session_description="test units",
        identifier=f"test-{seed}",
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
    )
    if electrodes:
        dev = nwb.create_device(name="probe")
        group = nwb.create_electrode_group(name="shank0", description="shank", location="brain", device=dev)
        for loc in LOCATIONS:
            nwb.add_electrode(group=group, location=loc)
        for k, train in enumerate(spike_trains(seed)):
            nwb.add_unit(spike_times=train, electrodes=[k])
    else:
        nwb.add_unit_column(name="location", description="recorded region")
        for train, loc in zip(spike_trains(seed), LOCATIONS):
            nwb.add_unit(spike_times=train, location=loc)
    if epochs:
        nwb.add_epoch(start_time=0.0, stop_time=20.0, tags=["sleep"])
        nwb.add_epoch(start_time=20.0, stop_time=DURATION, tags=["wake"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


@pytest.fixture(scope="module")
def nwb_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bids") / "ds"
    for rel, (seed, epochs, electrodes) in FILES.items():
        write_nwb(root / rel, seed, epochs, electrodes)
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "units test", "BIDSVersion": "1.9.0", "DatasetType": "raw"})
    )
    return root


def cohort(root: Path, **bids) -> dict:
    return {
        "bids_dir": str(root),
        "resources": {"dest": "resources/data"},
        "activity": {
            "activate": True,
            "spikes": {},
            "counts": {"bin_width": 0.5, "t_start": None, "t_stop": None, "angle_series": "ry"},
            "bids": {"activate": True, "kind": "units", "simulated": False, **bids},
        },
    }


def test_nwb_tree_gives_one_counts_file_per_file_with_every_entity(nwb_tree):
    specs = spike_recordings(cohort(nwb_tree), {"datasets": {}})
    assert sorted(specs) == ["sub-01_ses-1", "sub-01_ses-2", "sub-02_ses-3"]
    assert specs["sub-02_ses-3"]["subdir"] == "sub-02/ses-3"
    assert (
        counts_path("results", specs["sub-01_ses-2"])
        == "results/sub-01/ses-2/ephys/sub-01_ses-2_desc-counts_spikes.nc"
    )
    # the selection keys of the cohort filter the tree
    one = spike_recordings(
        {**cohort(nwb_tree), "participant_label": ["01"], "sessions": ["2"]}, {"datasets": {}}
    )
    assert sorted(one) == ["sub-01_ses-2"]


@pytest.mark.parametrize("stem", ["sub-01_ses-1", "sub-01_ses-2", "sub-02_ses-3"])
def test_counts_equal_a_histogram_of_the_known_spike_times(nwb_tree, tmp_path, stem):
    spec = spike_recordings(cohort(nwb_tree), {"datasets": {}})[stem]
    out = tmp_path / Path(counts_path("results", spec))
    out.parent.mkdir(parents=True)
    counts_file(spec["files"], spec=spec, citation="", out_nc=out)
    rel = next(r for r in FILES if Path(r).name.startswith(stem))
    seed, epochs, _ = FILES[rel]
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        trains = spike_trains(seed)
        t0 = 0.0 if epochs else min(t.min() for t in trains)
        t1 = DURATION if epochs else max(t.max() for t in trains)
        n = int(np.floor((t1 - t0) / 0.5 + 1e-9))
        edges = t0 + 0.5 * np.arange(n + 1)
        expected = np.stack([np.histogram(t, edges)[0] for t in trains], axis=1)
        assert ds["counts"].dims == ("time", "neuron")
        np.testing.assert_array_equal(ds["counts"].values, expected)
        np.testing.assert_allclose(ds["time"].values, edges[:-1] + 0.25)
        assert ds["time"].attrs["long_name"] == "bin centre"
        assert ds.attrs["units"] == "count" and ds.attrs["bin_width_s"] == 0.5
        assert ds.attrs["simulated"] == 0
        assert list(ds["location"].values) == LOCATIONS
        assert json.loads(ds.attrs["entities"]) == dict(
            zip(("sub", "ses"), stem.replace("sub-", "").split("_ses-"))
        )
        if epochs:
            assert json.loads(ds.attrs["epochs"]) == [[0.0, 20.0, "sleep"], [20.0, DURATION, "wake"]]
            assert (ds["epoch"].values[ds["time"].values < 20] == "sleep").all()
            assert (ds["epoch"].values[ds["time"].values > 20] == "wake").all()
        else:
            assert "epoch" not in ds.coords


def test_dandi_tree_without_dataset_description_is_read_by_name(nwb_tree, tmp_path):
    root = tmp_path / "dandiset"
    shutil.copytree(nwb_tree, root)
    (root / "dataset_description.json").unlink()
    (root / "dandiset.yaml").write_text("identifier: '000000'\n")
    specs = spike_recordings(cohort(root), {"datasets": {}})
    assert sorted(specs) == ["sub-01_ses-1", "sub-01_ses-2", "sub-02_ses-3"]
    assert specs["sub-02_ses-3"]["entities"] == {"sub": "02", "ses": "3"}


def test_two_files_with_the_same_entities_are_refused_naming_both(nwb_tree, tmp_path):
    root = tmp_path / "dup"
    shutil.copytree(nwb_tree, root)
    shutil.copy(root / "sub-02/sub-02_ses-3_ecephys.nwb", root / "sub-02/sub-02_ses-3_ophys.nwb")
    with pytest.raises(BIDSInputError, match="sub-02_ses-3_ophys.nwb.*collide|collide"):
        spike_recordings(cohort(root), {"datasets": {}})


def test_bids_route_without_bids_dir_names_the_key(nwb_tree):
    cfg = cohort(nwb_tree)
    cfg["bids_dir"] = ""
    with pytest.raises(ValueError, match="activity.bids.activate.*bids_dir"):
        spike_recordings(cfg, {"datasets": {}})


def test_file_without_units_fails_naming_it(tmp_path):
    from pynwb import NWBHDF5IO, NWBFile

    path = tmp_path / "sub-09_ses-1_ecephys.nwb"
    nwb = NWBFile(
        session_description="empty", identifier="e", session_start_time=datetime(2024, 1, 1, tzinfo=UTC)
    )
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with pytest.raises(ActivityReadError, match=r"sub-09_ses-1_ecephys\.nwb.*no units table"):
        read_nwb_counts(path, 1.0)


def counts_table(path: Path, rng) -> np.ndarray:
    counts = rng.poisson(3.0, size=(60, 6))
    table = pd.DataFrame(counts, columns=[f"n{k}" for k in range(6)])
    table.insert(0, "time", 0.25 + 0.5 * np.arange(60))
    table.to_csv(path, sep="\t", index=False)
    return counts


@pytest.mark.slow
def test_simulated_counts_table_carries_the_flag_into_the_bicluster_output(tmp_path):
    counts = counts_table(tmp_path / "sim.tsv", np.random.default_rng(0))
    cfg = {
        "resources": {"dest": "resources/data"},
        "activity": {
            "activate": True,
            "counts": {"bin_width": 1.0, "t_start": None, "t_stop": None, "angle_series": "ry"},
            "spikes": {"mysim": {"reader": "table", "path": str(tmp_path / "sim.tsv"), "simulated": True}},
        },
        "bicluster": {"from_activity": True, "min_rate": 0.0, "recordings": {}},
    }
    spec = spike_recordings(cfg, {"datasets": {}})["sub-mysim"]
    act_nc = tmp_path / "act.nc"
    counts_file(spec["files"], spec=spec, citation="", out_nc=act_nc)
    with xr.open_dataset(act_nc, engine="h5netcdf") as ds:
        np.testing.assert_array_equal(ds["counts"].values, counts)
        assert ds.attrs["simulated"] == 1 and ds.attrs["bin_width_s"] == 0.5
    bic = BP.bicluster_recordings(cfg, {"datasets": {}})
    assert bic["sub-mysim"]["activity"] == "sub-mysim"
    BP.write_counts("sub-mysim", bic["sub-mysim"], [act_nc], tmp_path / "counts.nc")
    settings = {"n_iter": 4, "burn_in": 2, "state_warmup": 1}
    chains = [tmp_path / f"c{c}.nc" for c in range(2)]
    for c, path in enumerate(chains):
        BP.write_chain(tmp_path / "counts.nc", path, settings, seed=1, chain=c)
    figs = {k: tmp_path / f"{k}.png" for k in ("raster", "states", "coclustering", "traces", "latents")}
    BP.merge_chains(
        chains,
        tmp_path / "counts.nc",
        tmp_path / "post.nc",
        tmp_path / "d.tsv",
        tmp_path / "c.tsv",
        tmp_path / "v.tsv",
        figs,
        n_shuffles=10,
    )
    with xr.open_dataset(tmp_path / "post.nc", engine="h5netcdf") as post:
        assert post.attrs["simulated"] == 1 and "SIMULATED" in post.attrs["description"]
    assert "SIMULATED" in (tmp_path / "v.json").read_text()


@pytest.mark.parametrize(
    "edit, needle",
    [
        (lambda t: t.assign(time=t["time"].where(t.index != 30, 15.3)), "not evenly spaced"),
        (lambda t: t.assign(n0=t["n0"] + 0.5), "whole numbers"),
        (lambda t: t.drop(columns="time"), "no time column"),
    ],
)
def test_bad_counts_table_fails_naming_the_file(tmp_path, edit, needle):
    counts_table(tmp_path / "c.tsv", np.random.default_rng(1))
    edit(pd.read_csv(tmp_path / "c.tsv", sep="\t")).to_csv(tmp_path / "bad.tsv", sep="\t", index=False)
    with pytest.raises(ActivityReadError, match=rf"bad\.tsv.*{needle}"):
        read_counts_table(tmp_path / "bad.tsv")


def test_netcdf_counts_table_reads_like_the_tsv(tmp_path):
    counts = counts_table(tmp_path / "c.tsv", np.random.default_rng(2))
    tsv = read_counts_table(tmp_path / "c.tsv")
    xr.Dataset(
        {"counts": (("neuron", "time"), counts.T)},
        coords={"time": tsv["time"].values, "neuron": tsv["neuron"].values},
    ).to_netcdf(tmp_path / "c.nc", engine="h5netcdf")
    nc = read_counts_table(tmp_path / "c.nc")
    np.testing.assert_array_equal(nc["counts"].values, tsv["counts"].values)
    assert nc.attrs["bin_width_s"] == tsv.attrs["bin_width_s"] == 0.5


def test_bicluster_refuses_a_raw_recording_and_says_where_it_moved():
    cfg = {
        "activity": {"activate": False},
        "bicluster": {"recordings": {"A2929": {"dataset": "x", "bin_width": 4.0}}},
    }
    with pytest.raises(ConfigError, match=r"bicluster.recordings.A2929.dataset.*activity.spikes.A2929"):
        BP.bicluster_recordings(cfg, {"datasets": {}})


@pytest.mark.workflow
def test_dry_run_wires_activity_counts_into_bicluster_for_the_nwb_tree(nwb_tree, tmp_path):
    from neuroflow.devtools import copy_workflow, run_snakemake

    work = copy_workflow(tmp_path / "w", REPO)
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    for section in cfg.values():
        if isinstance(section, dict) and "activate" in section:
            section["activate"] = False
    cfg["connectome"]["activate"] = False
    cfg["bids_dir"] = str(nwb_tree)
    act = cfg["activity"]
    act.update(
        activate=True,
        recordings={},
        spikes={},
        counts={"bin_width": 0.5},
        bids={"activate": True, "kind": "units"},
    )
    act.setdefault("funatlas", {})["activate"] = False
    act.setdefault("structure_function", {})["activate"] = False
    cfg["bicluster"].update(activate=True, recordings={}, chains=2)
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = run_snakemake(work, "-n", "--dag")
    assert proc.returncode == 0, proc.stderr[-4000:]
    nodes = dict(re.findall(r'(\d+)\[label = "([^"]+)"', proc.stdout))
    edges = re.findall(r"(\d+) -> (\d+)", proc.stdout)
    rule = {k: v.split("\\n")[0] for k, v in nodes.items()}
    stems = {
        k: re.search(r"stem: (\S+?)(\\n|$)", v).group(1)
        for k, v in nodes.items()
        if rule[k] == "activity_counts"
    }
    assert sorted(stems.values()) == ["sub-01_ses-1", "sub-01_ses-2", "sub-02_ses-3"]
    fed = {a: b for a, b in edges if a in stems and rule[b] == "bicluster_recording"}
    assert sorted(fed) == sorted(stems), "every counts file feeds one bicluster_recording job"
    assert len(set(fed.values())) == 3
    # the bi-clustering reads no raw file: its jobs take only the activity counts
    assert all(a in stems for a, b in edges if rule[b] == "bicluster_recording")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_bids_traces_route_writes_the_fluorescence_with_its_entities(tmp_path):
    from test_activity_readers import write_worm_nwb

    from neuroflow.activity.inputs import trace_recordings
    from neuroflow.activity.pipeline import traces_file

    root = tmp_path / "ds"
    path = root / "sub-03/ses-1/ophys/sub-03_ses-1_task-rest_ophys.nwb"
    path.parent.mkdir(parents=True)
    data = write_worm_nwb(path, ["AVAL", "AVAR", ""])
    (root / "dataset_description.json").write_text('{"Name": "t", "BIDSVersion": "1.9.0"}')
    specs = trace_recordings(cohort(root, kind="traces"))
    assert list(specs) == ["sub-03_ses-1_task-rest"]
    out = tmp_path / "traces.nc"
    traces_file(
        [path],
        spec=specs["sub-03_ses-1_task-rest"],
        series=None,
        only_cells=True,
        simulated=False,
        out_nc=out,
    )
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        np.testing.assert_allclose(ds["traces"].values, data)
        assert json.loads(ds.attrs["entities"]) == {"sub": "03", "ses": "1", "task": "rest"}
    # kind traces: no counts are made of these files
    assert spike_recordings(cohort(root, kind="traces"), {"datasets": {}}) == {}


def test_user_bin_width_differing_from_a_counts_table_fails_naming_key_and_file(tmp_path):
    counts = counts_table(tmp_path / "t.tsv", np.random.default_rng(3))  # bins of 0.5 s

    def spec_for(entry):
        cfg = {
            "resources": {"dest": "resources/data"},
            "activity": {
                "activate": True,
                "counts": {"bin_width": 1.0, "t_start": None, "t_stop": None, "angle_series": "ry"},
                "spikes": {"tab": {"reader": "table", "path": str(tmp_path / "t.tsv"), **entry}},
            },
        }
        return spike_recordings(cfg, {"datasets": {}})["sub-tab"]

    spec = spec_for({"bin_width": 1.0})
    with pytest.raises(ConfigError, match=r"activity\.spikes\.tab\.bin_width.*t\.tsv.*0\.5 s"):
        counts_file(spec["files"], spec=spec, citation="", out_nc=tmp_path / "bad.nc")
    assert not (tmp_path / "bad.nc").exists()
    # the table's own spacing, or no per-recording key (activity.counts applies to NWB only)
    for entry in ({"bin_width": 0.5}, {}):
        spec = spec_for(entry)
        ds = counts_file(spec["files"], spec=spec, citation="", out_nc=tmp_path / "ok.nc")
        np.testing.assert_array_equal(ds["counts"].values, counts)
        assert ds.attrs["bin_width_s"] == 0.5
