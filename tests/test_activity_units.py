"""The activity stage's units file: every spike time, the head angle and the epochs of an NWB
recording, written by the same reading as the counts, read back by later stages.

A small NWB file (pynwb) with known spike trains, a CompassDirection head angle and epochs
is written; the units file must give back exactly those arrays, and binning it must give
the counts file bin for bin. Later stages name the recording; bad names stop before any job.
"""

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from neuroflow.activity.inputs import ActivityConfigError, units_path, units_recording
from neuroflow.activity.pipeline import counts_file
from neuroflow.activity.readers import ActivityReadError
from neuroflow.activity.spikes import bin_spikes, read_units_file

RATE = 50.0  # Hz, head-angle samples
DURATION = 30.0


def trains() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [np.sort(rng.uniform(0, DURATION, n)) for n in (40, 0, 95)]  # one silent unit


def angle_samples():
    t = np.arange(0, DURATION, 1 / RATE)
    return t, 3.0 * np.sin(0.2 * t) + 0.5  # rad, crosses 0 and 2 pi: stored unwrapped


def write_nwb(path: Path, angle: bool = True) -> Path:
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.behavior import CompassDirection, SpatialSeries

    nwb = NWBFile(
        session_description="units file test",
        identifier="units-test",
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
    )
    nwb.add_unit_column(name="location", description="recorded region")
    for train, loc in zip(trains(), ["adn", "ca1", "adn"]):
        nwb.add_unit(spike_times=train, location=loc)
    nwb.add_epoch(start_time=0.0, stop_time=10.0, tags=["sleep"])
    nwb.add_epoch(start_time=10.0, stop_time=DURATION, tags=["wake", "box"])
    if angle:
        t, a = angle_samples()
        nwb.add_acquisition(
            CompassDirection(
                spatial_series=SpatialSeries(
                    name="ry", data=a, timestamps=t, reference_frame="room", unit="radians"
                )
            )
        )
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def spec(path, reader="nwb") -> dict:
    return {
        "reader": reader,
        "bin_width": 0.5,
        "t_start": None,
        "t_stop": None,
        "angle_series": "ry",
        "time_column": "time",
        "simulated": False,
        "stem": "sub-X1",
        "subdir": "sub-X1",
        "label": "X1",
        "entities": {"sub": "X1"},
        "source": "user",
        "key": "activity.spikes.X1",
        "files": [str(path)],
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("units")
    nwb = write_nwb(folder / "x.nwb")
    counts, units = folder / "c.nc", folder / "u.nc"
    counts_file([nwb], spec=spec(nwb), citation="", out_nc=counts, out_units=units)
    return nwb, counts, units


def test_units_file_gives_back_every_spike_angle_and_epoch(written):
    _, _, units_nc = written
    units = read_units_file(units_nc)
    assert len(units.spike_times) == 3
    for got, known in zip(units.spike_times, trains()):
        np.testing.assert_array_equal(got, known)
    t, a = angle_samples()
    np.testing.assert_array_equal(units.angle_time, t)
    np.testing.assert_array_equal(units.angle, a)
    assert units.epochs == [(0.0, 10.0, "sleep"), (10.0, DURATION, "wake,box")]
    assert units.location == ["adn", "ca1", "adn"]
    assert list(units.unit_ids) == [0, 1, 2]
    assert units.angle_series == "acquisition/CompassDirection/ry"
    with xr.open_dataset(units_nc, engine="h5netcdf") as ds:
        assert ds["spike_time"].attrs["units"] == "s" and ds["head_angle"].attrs["units"] == "rad"
        assert ds["spike_count"].attrs["sample_dimension"] == "spike"
        assert list(ds["spike_count"].values) == [40, 0, 95]
        assert ds.attrs["simulated"] == 0 and ds.attrs["entities"] == '{"sub": "X1"}'
        assert "sha256" in ds.attrs["inputs"] and ds.attrs["recording"] == "sub-X1"


def test_counts_binned_from_the_units_file_equal_the_counts_file(written):
    _, counts_nc, units_nc = written
    again = bin_spikes(read_units_file(units_nc), 0.5)
    with xr.open_dataset(counts_nc, engine="h5netcdf") as ds:
        np.testing.assert_array_equal(again["counts"].values, ds["counts"].values)
        np.testing.assert_array_equal(again["head_direction"].values, ds["head_direction"].values)


def test_units_file_without_angle_reads_back_none(tmp_path):
    nwb = write_nwb(tmp_path / "x.nwb", angle=False)
    counts_file([nwb], spec=spec(nwb), citation="", out_nc=tmp_path / "c.nc", out_units=tmp_path / "u.nc")
    units = read_units_file(tmp_path / "u.nc")
    assert units.angle is None and units.angle_time is None
    assert any("no CompassDirection/ry" in n for n in units.notes)


def test_a_file_that_is_not_a_units_file_is_refused_naming_it(written, tmp_path):
    _, counts_nc, _ = written
    with pytest.raises(ActivityReadError, match=f"{counts_nc}: not a units file"):
        read_units_file(counts_nc)
    with pytest.raises(ActivityReadError, match="units file not found"):
        read_units_file(tmp_path / "missing.nc")


def _config(active=True, reader="nwb"):
    rec = {"path": __file__} if reader == "nwb" else {"path": __file__, "reader": "table"}
    return {
        "resources": {"dest": "resources/data"},
        "activity": {"activate": active, "spikes": {"A1": rec}, "counts": {}},
    }


def test_units_recording_names_the_file_of_the_chain():
    spec_ = units_recording(_config(), {"datasets": {}}, "A1", "trsa.headdirection.recording")
    assert units_path("results", spec_) == "results/sub-A1/ephys/sub-A1_desc-units_spikes.nc"


@pytest.mark.parametrize(
    "config, recording, needle",
    [
        (_config(active=False), "A1", "activity stage, which is off"),
        (_config(), "B2", r"'B2' is not a spike recording .* \['sub-A1'\]"),
        (_config(reader="table"), "A1", "activity.spikes.A1 is a counts table"),
        (_config(), None, "not set"),
    ],
)
def test_units_recording_errors_name_the_key(config, recording, needle):
    with pytest.raises(ActivityConfigError, match=f"config key trsa.headdirection.recording: .*{needle}"):
        units_recording(config, {"datasets": {}}, recording, "trsa.headdirection.recording")


def _chain_workdir(dest: Path, activity: bool = True) -> Path:
    """A copy of the workflow with the activity stage (A2929 units) feeding the head-direction
    RDM of trsa and the head-direction encoding experiment, every other analysis off."""
    import yaml

    from neuroflow.devtools import copy_workflow

    work = copy_workflow(dest, Path(__file__).resolve().parents[1])
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    for section in cfg.values():
        if isinstance(section, dict) and "activate" in section:
            section["activate"] = False
    act = cfg["activity"]
    act.update(
        activate=activity,
        recordings={},
        bids={"activate": False},
        spikes={"A2929": {"dataset": "pynapple_a2929_neurosuite", "bin_width": 4.0}},
    )
    act.setdefault("funatlas", {})["activate"] = False
    act.setdefault("structure_function", {})["activate"] = False
    trsa = cfg["trsa"]
    trsa["activate"] = True
    for name in ("haxby", "networks", "task"):
        trsa.setdefault(name, {})["activate"] = False
    trsa.setdefault("identification", {})["rdms"] = ""
    hd = trsa.setdefault("headdirection", {})
    for old in ("dataset", "subject"):
        hd.pop(old, None)
    hd.update(activate=True, recording="A2929")
    enc = cfg["encoding"]
    enc.update(activate=True, device="cpu", run=["headdirection"])
    enc.setdefault("attention", {})["enabled"] = False
    enc.setdefault("task", {})["activate"] = False
    enc["experiments"] = {
        "headdirection": {
            "reader": "headdirection",
            "recording": "A2929",
            "subject": "A2929",
            "task": "wake",
            "options": {"epoch": "wake", "bin_s": 0.2},
        }
    }
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return work


@pytest.mark.workflow
def test_dry_run_feeds_the_units_file_to_trsa_and_encoding(tmp_path):
    import re

    from neuroflow.devtools import run_snakemake

    work = _chain_workdir(tmp_path / "w")
    proc = run_snakemake(work, "-n", "--dag")
    assert proc.returncode == 0, proc.stderr[-4000:]
    nodes = dict(re.findall(r'(\d+)\[label = "([^"]+)"', proc.stdout))
    rule = {k: v.split("\\n")[0] for k, v in nodes.items()}
    edges = {(rule[a], rule[b]) for a, b in re.findall(r"(\d+) -> (\d+)", proc.stdout)}
    for reader in ("trsa_headdirection", "encoding_design_headdirection"):
        # the units file is their one input: no raw NWB, no fetch of it
        assert {a for a, b in edges if b == reader} == {"activity_counts"}, edges
    listing = run_snakemake(work, "-n").stdout
    assert "sub-A2929/ephys/sub-A2929_desc-units_spikes.nc" in listing
    assert "sub-A2929/ephys/sub-A2929_task-wake_desc-headdirection_rdm.nc" in listing


@pytest.mark.workflow
def test_head_direction_without_the_activity_stage_stops_before_any_job(tmp_path):
    from neuroflow.devtools import run_snakemake

    work = _chain_workdir(tmp_path / "w", activity=False)
    proc = run_snakemake(work, "-n")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "config key trsa.headdirection.recording: 'A2929'" in out
    assert "activity.activate: true" in out
    assert not (work / "results").exists()
