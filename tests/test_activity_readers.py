"""Activity readers on the real pynapple test recordings, on user-style files and on bad files."""

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuroflow.activity.readers import (
    ActivityReadError,
    read_nwb,
    read_recording,
    read_suite2p,
    read_table,
)

REPO = Path(__file__).resolve().parents[1]
DATASETS = ("pynapple_suite2p_nwb", "pynapple_suite2p_plane0", "pynapple_cnmfe_nwb", "pynapple_phy_units")


@pytest.fixture(scope="module")
def pynapple_files() -> dict[str, list[Path]]:
    """The pynapple 0.11.4 sdist's test recordings, fetched once into resources/data."""
    from neuroflow.resources import fetch_dataset, load_manifest

    manifest = load_manifest(REPO / "resources" / "datasets.yaml")
    try:
        return {d: fetch_dataset(manifest, d, REPO / "resources" / "data") for d in DATASETS}
    except Exception as exc:  # no network, checksum mismatch
        pytest.fail(f"cannot fetch the pynapple test recordings: {type(exc).__name__}: {exc}")


# ----------------------------------------------------------------------- real files
def test_suite2p_nwb_export_is_read_transposed_with_cells_only(pynapple_files):
    rec = read_nwb(pynapple_files["pynapple_suite2p_nwb"][0])
    assert rec["traces"].dims == ("time", "neuron")
    assert rec.sizes == {"time": 2000, "neuron": 20}  # 20 of 219 ROIs are cells
    assert any("transposed" in n for n in rec.attrs["notes"])
    assert rec.attrs["nominal_rate_hz"] == 10.0
    np.testing.assert_allclose(np.diff(rec["time"].values), 0.1)
    assert rec["traces"].attrs["units"] == "lumens"
    assert all(n.startswith("roi-") for n in rec["neuron"].values)


def test_suite2p_folder_equals_the_nwb_export(pynapple_files):
    folder = pynapple_files["pynapple_suite2p_plane0"][0].parent
    nwb = pynapple_files["pynapple_suite2p_nwb"][0]
    raw = read_suite2p(folder, rate_hz=10.0, signal="F", neuropil_coefficient=0)
    ref = read_nwb(nwb, series="Fluorescence")
    np.testing.assert_array_equal(raw["traces"].values, ref["traces"].values)
    np.testing.assert_array_equal(raw["roi_index"].values, ref["roi_index"].values)
    spks = read_suite2p(folder, rate_hz=10.0, signal="spks")
    np.testing.assert_array_equal(spks["traces"].values, read_nwb(nwb, series="Deconvolved")["traces"].values)
    corrected = read_suite2p(folder, rate_hz=10.0)  # F - 0.7 Fneu
    neu = read_nwb(nwb, series="Neuropil")["traces"].values
    np.testing.assert_allclose(corrected["traces"].values, ref["traces"].values - 0.7 * neu, rtol=1e-6)


@pytest.mark.parametrize("index, n_samples", [(0, 35743), (1, 35790)])
def test_cnmfe_nwb_traces_keep_their_timestamps(pynapple_files, index, n_samples):
    rec = read_nwb(pynapple_files["pynapple_cnmfe_nwb"][index])
    assert rec.sizes == {"time": n_samples, "neuron": 10}
    assert np.median(np.diff(rec["time"].values)) == pytest.approx(1 / 30, abs=1e-5)
    assert np.isnan(rec.attrs["nominal_rate_hz"])  # the file has timestamps, no rate
    assert np.isfinite(rec["traces"].values).all()


def test_nwb_units_are_binned_into_rates(pynapple_files):
    path = pynapple_files["pynapple_phy_units"][0]
    rec = read_nwb(path, series="units", bin_s=0.5)
    assert rec.sizes["neuron"] == 3 and rec["traces"].attrs["units"] == "spikes/s"
    import pynwb

    with pynwb.NWBHDF5IO(str(path), "r") as io:
        n_spikes = [len(io.read().units["spike_times"][i]) for i in range(3)]
    np.testing.assert_allclose(rec["traces"].values.sum(axis=0) * 0.5, n_spikes)


def test_table_export_of_a_real_recording_reads_back_identically(pynapple_files, tmp_path):
    """The real CNMF-E traces written as CSV (time column + one column per ROI)."""
    rec = read_nwb(pynapple_files["pynapple_cnmfe_nwb"][0])
    table = pd.DataFrame(rec["traces"].values, columns=rec["neuron"].values)
    table.insert(0, "time", rec["time"].values)
    table.to_csv(tmp_path / "cnmfe.csv", index=False)
    back = read_table(tmp_path / "cnmfe.csv", units="lumens")
    np.testing.assert_allclose(back["traces"].values, rec["traces"].values, rtol=1e-12)
    np.testing.assert_allclose(back["time"].values, rec["time"].values, rtol=1e-12)
    assert list(back["raw_label"].values) == list(rec["neuron"].values)


def test_read_recording_dispatches_suite2p_files_to_their_folder(pynapple_files):
    files = pynapple_files["pynapple_suite2p_plane0"]
    rec = read_recording("suite2p", files, rate_hz=10.0)
    assert rec.sizes["neuron"] == 20 and rec.attrs["reader"] == "suite2p"


# --------------------------------------------------------------- user-style files
def write_suite2p_plane(folder: Path, n_rois: int = 6, n_frames: int = 300, seed: int = 0):
    """A small suite2p plane folder: GCaMP-like transients, neuropil, deconvolution."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    spikes = (rng.random((n_rois, n_frames)) < 0.02).astype(np.float32)
    kernel = np.exp(-np.arange(30) / 8.0)
    calcium = np.array([np.convolve(s, kernel)[:n_frames] for s in spikes], dtype=np.float32)
    fneu = (100 + 5 * rng.standard_normal((n_rois, n_frames))).astype(np.float32)
    f = (200 + 50 * calcium + 0.7 * fneu + rng.standard_normal((n_rois, n_frames))).astype(np.float32)
    iscell = np.column_stack([np.arange(n_rois) % 3 != 2, rng.random(n_rois)]).astype(np.float64)
    for name, arr in (("F", f), ("Fneu", fneu), ("spks", spikes), ("iscell", iscell)):
        np.save(folder / f"{name}.npy", arr)
    return f, fneu, spikes, iscell


def test_suite2p_planes_are_neuropil_corrected_and_concatenated(tmp_path):
    f0, n0, _, c0 = write_suite2p_plane(tmp_path / "suite2p/plane0", seed=0)
    f1, n1, _, c1 = write_suite2p_plane(tmp_path / "suite2p/plane1", seed=1)
    rec = read_suite2p([tmp_path / "suite2p/plane0", tmp_path / "suite2p/plane1"], rate_hz=30.0)
    keep0, keep1 = c0[:, 0] == 1, c1[:, 0] == 1
    assert rec.sizes["neuron"] == keep0.sum() + keep1.sum()
    expected = np.concatenate([(f0 - 0.7 * n0)[keep0], (f1 - 0.7 * n1)[keep1]]).T
    np.testing.assert_allclose(rec["traces"].values, expected, rtol=1e-6)
    assert rec["neuron"].values[0] == "plane0-roi0" and "plane1-roi0" in rec["neuron"].values
    np.testing.assert_allclose(rec["time"].values[:3], [0, 1 / 30, 2 / 30])
    everything = read_suite2p(tmp_path / "suite2p/plane0", rate_hz=30.0, only_cells=False)
    assert everything.sizes["neuron"] == 6


def test_suite2p_without_rate_fails_naming_the_folder(tmp_path):
    write_suite2p_plane(tmp_path / "plane0")
    with pytest.raises(ActivityReadError, match="plane0.*rate_hz"):
        read_suite2p(tmp_path / "plane0")


def test_truncated_suite2p_array_fails_naming_the_file(tmp_path):
    write_suite2p_plane(tmp_path / "plane0")
    path = tmp_path / "plane0/F.npy"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ActivityReadError, match=r"F\.npy"):
        read_suite2p(tmp_path / "plane0", rate_hz=10.0)


def test_suite2p_shape_mismatch_fails_naming_the_file(tmp_path):
    write_suite2p_plane(tmp_path / "plane0")
    np.save(tmp_path / "plane0/Fneu.npy", np.zeros((6, 10), np.float32))
    with pytest.raises(ActivityReadError, match=r"Fneu\.npy.*shape"):
        read_suite2p(tmp_path / "plane0", rate_hz=10.0)


def test_pickled_suite2p_array_is_refused(tmp_path):
    write_suite2p_plane(tmp_path / "plane0")
    np.save(tmp_path / "plane0/iscell.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ActivityReadError, match=r"iscell\.npy"):
        read_suite2p(tmp_path / "plane0", rate_hz=10.0)


@pytest.mark.parametrize("suffix, sep", [(".tsv", "\t"), (".csv", ",")])
def test_table_reader_keeps_labels_and_time(tmp_path, suffix, sep):
    path = tmp_path / f"worm{suffix}"
    t = np.arange(50) * 250.0  # ms
    table = pd.DataFrame({"time_ms": t, "AVAL": np.sin(t), "AS01": np.cos(t), "RMD?": 1.0})
    table.loc[3, "AVAL"] = np.nan
    table.to_csv(path, sep=sep, index=False)
    rec = read_table(path, time_column="time_ms", time_unit="ms")
    assert list(rec["raw_label"].values) == ["AVAL", "AS01", "RMD?"]
    np.testing.assert_allclose(rec["time"].values, t / 1000)
    assert np.isnan(rec["traces"].values[3, 0])


@pytest.mark.parametrize(
    "content, needle",
    [
        ("time\tAVAL\n0\t1\n0.1\tabc\n", "non-numeric"),
        ("t\tAVAL\n0\t1\n0.1\t2\n", "no time column"),
        ("time\tAVAL\n0\t1\n0.2\t2\n0.1\t3\n", "strictly increasing"),
        ("time\tAVAL\n0\t1\t5\n0.1\t2\t3\n", "data columns"),
    ],
)
def test_malformed_table_fails_naming_the_file(tmp_path, content, needle):
    path = tmp_path / "bad_recording.tsv"
    path.write_text(content)
    with pytest.raises(ActivityReadError, match="bad_recording.tsv") as err:
        read_table(path)
    assert needle in str(err.value)


def test_repeated_table_labels_are_kept_with_unique_ids(tmp_path):
    path = tmp_path / "worm.tsv"
    path.write_text("time\tAVAL\tAVAL\t\n0\t1\t2\t3\n0.25\t2\t3\t4\n")
    rec = read_table(path)
    assert list(rec["raw_label"].values) == ["AVAL", "AVAL", ""]
    assert list(rec["neuron"].values) == ["col-0", "col-1", "col-2"]


def write_worm_nwb(path: Path, labels: list[str], n_time: int = 400, rate: float = 4.0):
    """A NeuroPAL-style worm NWB: fluorescence with a ROI-table column of neuron labels."""
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

    nwb = NWBFile("simulated worm recording", "sim-worm", datetime(2024, 1, 1, tzinfo=UTC))
    device = nwb.create_device("spinning disk")
    channel = OpticalChannel(name="green", description="GCaMP", emission_lambda=525.0)
    plane = nwb.create_imaging_plane(
        name="head",
        optical_channel=channel,
        description="head",
        device=device,
        excitation_lambda=488.0,
        imaging_rate=rate,
        indicator="GCaMP7f",
        location="head",
    )
    segmentation = ImageSegmentation()
    nwb.create_processing_module("ophys", "worm").add(segmentation)
    seg = segmentation.create_plane_segmentation(
        name="neurons", imaging_plane=plane, description="NeuroPAL IDs"
    )
    seg.add_column("ID_labels", "NeuroPAL identities")
    for lab in labels:
        seg.add_roi(voxel_mask=[(0, 0, 0, 1.0)], ID_labels=lab)
    region = seg.create_roi_table_region("all", region=list(range(len(labels))))
    data = np.random.default_rng(0).normal(size=(n_time, len(labels)))
    series = RoiResponseSeries(name="GCaMP", data=data, rois=region, unit="a.u.", rate=rate)
    nwb.processing["ophys"].add(Fluorescence(roi_response_series=series))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return data


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_worm_nwb_labels_come_from_the_roi_table(tmp_path):
    path = tmp_path / "worm.nwb"
    data = write_worm_nwb(path, ["AVAL", "AVAR", "RMD?", ""])
    rec = read_nwb(path, label_column="ID_labels")
    assert list(rec["raw_label"].values) == ["AVAL", "AVAR", "RMD?", ""]
    np.testing.assert_allclose(rec["traces"].values, data)
    assert rec.attrs["nominal_rate_hz"] == 4.0
    with pytest.raises(ActivityReadError, match="no column 'labels'"):
        read_nwb(path, label_column="labels")
    with pytest.raises(ActivityReadError, match="Deconvolved.*available"):
        read_nwb(path, series="Deconvolved")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_truncated_nwb_fails_naming_the_file(tmp_path):
    path = tmp_path / "worm.nwb"
    write_worm_nwb(path, ["AVAL", "AVAR"])
    broken = tmp_path / "broken_worm.nwb"
    broken.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(ActivityReadError, match="broken_worm.nwb"):
        read_nwb(broken)
    with pytest.raises(ActivityReadError, match="missing.nwb.*not found"):
        read_nwb(tmp_path / "missing.nwb")


def test_netcdf_traces_table_reads_like_the_tsv(tmp_path):
    t = np.arange(50) / 4.0
    traces = np.random.default_rng(3).normal(size=(50, 3))
    xr.Dataset(
        {"traces": (("neuron", "time"), traces.T, {"units": "dF/F"})},
        coords={"time": t, "neuron": ["AVAL", "AVAR", "x"]},
    ).to_netcdf(tmp_path / "rec.nc", engine="h5netcdf")
    rec = read_table(tmp_path / "rec.nc")
    np.testing.assert_allclose(rec["traces"].values, traces)
    np.testing.assert_allclose(rec["time"].values, t)
    assert rec["traces"].attrs["units"] == "dF/F" and list(rec["raw_label"].values)[0] == "AVAL"
