"""Per-recording homogenization (labels shared with the connectomes) and the funatlas reader."""

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuroflow.activity.funatlas import read_funatlas
from neuroflow.activity.homogenize import homogenize_recording, index_row
from neuroflow.activity.neuron_labels import assign_slots, map_neuron_labels, to_canonical
from neuroflow.activity.readers import read_table
from neuroflow.io.celegans_labels import build_label_map, load_aliases, load_cell_table

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def label_map():
    """The connectomes' own label map (same cell table and aliases as the default config)."""
    return build_label_map(
        load_cell_table(REPO / "resources/celegans/cells.tsv"),
        load_aliases(REPO / "resources/celegans/aliases.tsv"),
    )


@pytest.fixture(scope="module")
def funatlas_path() -> Path:
    from neuroflow.resources import fetch_dataset, load_manifest

    manifest = load_manifest(REPO / "resources/datasets.yaml")
    try:
        return fetch_dataset(manifest, "randi_2023_funatlas", REPO / "resources/data")[0]
    except Exception as exc:
        pytest.fail(f"cannot fetch funatlas.h5: {type(exc).__name__}: {exc}")


def simulated_worm_table(path: Path, n: int = 900, rate: float = 4.0, seed: int = 0) -> dict:
    """Simulated worm recording (TSV): slow oscillations shared by labelled neurons."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    labels = ["AVAL", "AVAR", "AS01", "RMD?", "BWM-DL01", "XYZ1", "", "AVAL", "VB02"]
    cols = {"time": t}
    for k, lab in enumerate(labels):
        name = lab if lab and lab not in cols else f"col{k}"
        cols[name] = 10 + np.sin(2 * np.pi * 0.05 * t + k) + 0.1 * rng.standard_normal(n)
    table = pd.DataFrame(cols)
    table.columns = ["time", *labels]
    table.to_csv(path, sep="\t", index=False)
    return {"labels": labels, "time": t}


def test_labels_map_like_the_connectomes(label_map):
    raw = ["AVAL", "AS01", "VB02", "RMD?", "AVAL", "BWM-DL01", "XYZ1", "", "CANL", "AWCON"]
    table = map_neuron_labels(raw, label_map)
    assert table["label"].tolist() == ["AVAL", "AS1", "VB2", "", "", "", "", "", "", ""]
    assert table["status"].tolist() == [
        "canonical",
        "canonical",
        "canonical",
        "ambiguous",
        "duplicate",
        "not_a_neuron",
        "unknown",
        "none",
        "not_a_neuron",
        "unknown",
    ]
    # identical to the connectomes' mapping for every canonical label
    for lab in label_map.blocks["neuron"][:50]:
        assert map_neuron_labels([lab], label_map)["label"][0] == label_map.map(lab)[1]


def test_ambiguous_labels_are_resolved_only_on_request_and_flagged(label_map):
    table = map_neuron_labels(["RMDL", "RMD?", "SMDD?"], label_map, ambiguous="resolve")
    assert table["label"].tolist() == ["RMDL", "RMDR", "SMDDL"]
    assert table["status"].tolist() == ["canonical", "ambiguous_resolved", "ambiguous_resolved"]


def test_unlabelled_slots_are_seeded_and_free(label_map):
    canon = label_map.blocks["neuron"]
    labels = ["AVAL", "", "", "AVAR", ""]
    a = assign_slots(labels, canon, "random", random_state=1)
    assert a[0] == canon.index("AVAL") and a[3] == canon.index("AVAR")
    assert len(set(a.tolist())) == 5 and (a >= 0).all()
    np.testing.assert_array_equal(a, assign_slots(labels, canon, "random", random_state=1))
    assert not np.array_equal(a, assign_slots(labels, canon, "random", random_state=2))
    assert (assign_slots(labels, canon, "none")[[1, 2, 4]] == -1).all()


def test_homogenized_worm_recording_keeps_labels_and_exact_grid(tmp_path, label_map):
    path = tmp_path / "worm.tsv"
    sim = simulated_worm_table(path)
    rec = read_table(path)
    ds = homogenize_recording(rec, label_map, recording_id="worm", step_s=0.333, min_samples=600)
    labelled = [n for n, ok in zip(ds["neuron"].values, ds["is_labelled"].values) if ok]
    assert labelled == ["AS1", "AVAL", "AVAR", "VB2"]  # canonical order first
    assert ds.attrs["n_labelled"] == 4 and ds.attrs["n_unlabelled"] == 5
    assert ds.attrs["n_ambiguous"] == 1 and ds.attrs["n_rois"] == 9
    n_out = int(np.floor(sim["time"][-1] / 0.333 + 1e-9)) + 1
    assert ds.sizes["time"] == n_out and ds["activity"].dtype == np.float32
    np.testing.assert_array_equal(ds["time"].values, np.arange(n_out) * 0.333)
    z = ds["activity"].values
    np.testing.assert_allclose(np.nanmean(z, axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(np.nanstd(z, axis=0), 1, atol=1e-4)
    status = dict(zip(ds["neuron"].values, ds["label_status"].values))
    assert status["AVAL"] == "canonical"
    assert sorted(v for v in status.values() if v != "canonical") == [
        "ambiguous",
        "duplicate",
        "none",
        "not_a_neuron",
        "unknown",
    ]
    canon = to_canonical(
        ds["activity"].assign_coords(is_labelled=ds["is_labelled"], slot=ds["slot"]),
        label_map.blocks["neuron"],
    )
    assert canon.sizes["neuron"] == 300
    assert np.isnan(canon.sel(neuron="ADAL")).all()  # not recorded: NaN
    np.testing.assert_array_equal(canon.sel(neuron="AVAL"), ds["activity"].sel(neuron="AVAL"))
    row = index_row(ds.assign_attrs(simulated=np.int8(0)), "user")  # as written by the stamp
    assert row["n_labelled"] == 4 and row["rate_hz"] == pytest.approx(1 / 0.333)


def test_neurons_with_long_nan_runs_are_dropped_and_listed(tmp_path, label_map):
    path = tmp_path / "worm.tsv"
    simulated_worm_table(path)
    table = pd.read_csv(path, sep="\t")
    table.loc[100:200, "AVAR"] = np.nan  # 25 s of 225 s > 5 %
    table.loc[300:302, "VB02"] = np.nan  # 0.75 s: bridged
    table.to_csv(path, sep="\t", index=False)
    ds = homogenize_recording(read_table(path), label_map, recording_id="worm")
    assert "AVAR" not in ds["neuron"].values and "VB2" in ds["neuron"].values
    dropped = json.loads(ds.attrs["dropped"])
    assert [d["neuron"] for d in dropped] == ["AVAR"] and "NaN/gap" in dropped[0]["reason"]


def test_short_recording_fails_naming_the_key(tmp_path, label_map):
    path = tmp_path / "short.tsv"
    simulated_worm_table(path, n=100)
    with pytest.raises(ValueError, match="short.tsv.*min_samples"):
        homogenize_recording(read_table(path), label_map, recording_id="short")


def test_recording_without_labels_can_be_required_to_fail(tmp_path, label_map):
    path = tmp_path / "mouse.tsv"
    pd.DataFrame({"time": np.arange(700) / 10, "roi1": 1.0, "roi2": 2.0}).to_csv(path, sep="\t", index=False)
    rec = read_table(path)
    assert homogenize_recording(rec, label_map, recording_id="m").attrs["n_labelled"] == 0
    with pytest.raises(ValueError, match="require_labelled"):
        homogenize_recording(rec, label_map, recording_id="m", require_labelled=True)


# --------------------------------------------------------------------------- funatlas
def test_funatlas_is_transposed_to_pre_stimulated_post_responding(funatlas_path, label_map):
    atlas = read_funatlas(funatlas_path, label_map)
    assert atlas["amplitude"].dims == ("strain", "pre", "post")
    assert list(atlas["pre"].values) == label_map.blocks["neuron"]
    with h5py.File(funatlas_path, "r") as fh:
        ids = [x.decode() for x in fh["neuron_ids"][:]]
        dff, q, occ = fh["wt/dFF"][:], fh["wt/q"][:], fh["wt/occ1"][:]
    resp, stim = np.unravel_index(
        np.nanargmin(np.where(np.eye(300, dtype=bool), np.nan, q)), q.shape
    )  # the most significant off-diagonal pair
    a = atlas.sel(strain="wt", pre=ids[stim], post=ids[resp])
    assert float(a["amplitude"]) == dff[resp, stim]
    assert float(a["q"]) == q[resp, stim] and int(a["n_trials"]) == occ[resp, stim]
    assert json.loads(atlas.attrs["unmapped_labels"]) == ["AWCOF", "AWCON"]
    assert not atlas["tested"].sel(pre="AWCL").any()
    assert not atlas["tested"].values[:, np.arange(300), np.arange(300)].any()  # no diagonal
    n_sig = int(((atlas["q"] < 0.05) & atlas["tested"]).sel(strain="wt").sum())
    assert 1000 < n_sig < 2000


def test_funatlas_without_its_groups_fails_naming_the_file(tmp_path, label_map):
    bad = tmp_path / "not_funatlas.h5"
    with h5py.File(bad, "w") as fh:
        fh["neuron_ids"] = np.array([b"AVAL", b"AVAR"])
    with pytest.raises(ValueError, match="not_funatlas.h5.*'wt'"):
        read_funatlas(bad, label_map)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="junk.h5"):
        read_funatlas(junk, label_map)


def test_homogenized_dataset_roundtrips_through_netcdf(tmp_path, label_map):
    from neuroflow.provenance import read_netcdf, write_netcdf

    path = tmp_path / "worm.tsv"
    simulated_worm_table(path)
    ds = homogenize_recording(read_table(path), label_map, recording_id="worm", attrs={"label": "test"})
    write_netcdf(ds, tmp_path / "w.nc", simulated=True)
    back = read_netcdf(tmp_path / "w.nc")
    assert back.attrs["simulated"] == 1
    xr.testing.assert_identical(
        back.drop_attrs(deep=False), ds.drop_attrs(deep=False)
    )  # data, coords, variable attrs
    assert set(ds.attrs) <= set(back.attrs) and back.attrs["label"] == "test"
