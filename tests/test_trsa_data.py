"""Real data through the tRSA file functions: Haxby 2001 subject 1 and a head-direction ring
(from the activity stage's units file of the A2929 recording).

The files are fetched once (the archive from PyPI, sha256-checked before it is opened) into the git-ignored
``<repo>/resources/data``; ``NEUROFLOW_TEST_TRSA_DATA`` may point at a folder that already
holds ``pymvpa2-2.6.5/`` and ``pynapple-0.11.4/`` instead.
"""

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.spatial.distance import squareform

from neuroflow.resources import dataset_paths, fetch_dataset, load_manifest
from neuroflow.rsa import pipeline
from neuroflow.rsa.headdirection import tuning_curves

REPO = Path(__file__).resolve().parents[1]
STATS = [
    {"kind": "rdm"},
    {"kind": "rgtm", "lower": 0.45, "upper": 0.55},
    {"kind": "rgdm", "lower": 0.0, "upper": 1.0},
]


def _fetch(dataset_id):
    manifest = load_manifest(REPO / "resources" / "datasets.yaml")
    env = os.environ.get("NEUROFLOW_TEST_TRSA_DATA")
    if env:
        return dataset_paths(manifest, dataset_id, Path(env).expanduser())
    try:
        return fetch_dataset(manifest, dataset_id, REPO / "resources" / "data")
    except Exception as exc:  # no network, checksum mismatch, ...
        pytest.fail(
            f"cannot fetch {dataset_id}: {type(exc).__name__}: {exc} "
            "(set NEUROFLOW_TEST_TRSA_DATA to a folder holding it)"
        )


@pytest.fixture(scope="module")
def haxby():
    return _fetch("haxby2001_sub1")


@pytest.fixture(scope="module")
def nwb():
    return _fetch("pynapple_a2929_neurosuite")[0]


@pytest.fixture(scope="module")
def units_file(nwb, tmp_path_factory):
    """The activity stage's units file of the recording (what trsa_headdirection reads)."""
    from neuroflow.activity.pipeline import counts_file

    out = tmp_path_factory.mktemp("units")
    spec = {
        "reader": "nwb",
        "bin_width": 4.0,
        "t_start": None,
        "t_stop": None,
        "angle_series": "ry",
        "simulated": False,
        "stem": "sub-A2929",
        "label": "A2929",
        "entities": {"sub": "A2929"},
        "source": "pynapple_a2929_neurosuite",
        "key": "activity.spikes.A2929",
    }
    counts_file([nwb], spec=spec, citation="", out_nc=out / "c.nc", out_units=out / "u.nc")
    return out / "u.nc"


def _tuning_read_from_nwb(nwb, n_bins, epoch, location):
    """Reference: the tuning curves computed straight from the NWB file with pynwb (what the
    stage computed before the activity stage's units file existed)."""
    import pynwb

    with pynwb.NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        series = f.acquisition["CompassDirection"].spatial_series["ry"]
        t = np.asarray(series.timestamps[:], dtype=float)
        angle = np.mod(np.asarray(series.data[:], dtype=float), 2 * np.pi)
        ep = f.epochs.to_dataframe()
        ep = ep[[epoch in tags for tags in ep["tags"]]]
        units = f.units.to_dataframe()
    units = units[units["location"].astype(str) == location] if location else units
    in_epoch = np.zeros(len(t), dtype=bool)
    for a, b in zip(ep["start_time"], ep["stop_time"]):
        in_epoch |= (t >= a) & (t < b)
    edges = np.linspace(0, 2 * np.pi, n_bins + 1)
    occupancy = np.histogram(angle[in_epoch], bins=edges)[0] * float(np.median(np.diff(t)))
    lo, hi = t[in_epoch].min(), t[in_epoch].max()
    rates = []
    for s in units["spike_times"]:
        s = np.asarray(s, dtype=float)
        keep = np.zeros(len(s), dtype=bool)
        for a, b in zip(ep["start_time"], ep["stop_time"]):
            keep |= (s >= max(a, lo)) & (s < min(b, hi))
        sa = np.mod(np.interp(s[keep], t, np.unwrap(angle)), 2 * np.pi)
        rates.append(np.histogram(sa, bins=edges)[0] / occupancy)
    return np.array(rates).T, occupancy, units.index.to_numpy()


@pytest.mark.parametrize("n_bins, location", [(36, "adn"), (12, "")])
def test_tuning_curves_from_the_units_file_equal_those_read_from_the_nwb(nwb, units_file, n_bins, location):
    tuning = tuning_curves(units_file, n_bins=n_bins, epoch="wake", location=location)
    rate, occupancy, ids = _tuning_read_from_nwb(nwb, n_bins, "wake", location)
    np.testing.assert_array_equal(tuning["rate"].values, rate)
    np.testing.assert_array_equal(tuning["occupancy"].values, occupancy)
    np.testing.assert_array_equal(tuning["unit"].values, ids)


@pytest.fixture(scope="module")
def haxby_rdm(haxby, tmp_path_factory):
    out = tmp_path_factory.mktemp("haxby") / "sub-1_task-objectviewing_desc-crossnobis_rdm.nc"
    pipeline.haxby_rdm_file(*haxby, out, subject="1", task="objectviewing")
    return out


def test_haxby_crossnobis_rdm_separates_every_category(haxby_rdm):
    with xr.open_dataset(haxby_rdm, engine="h5netcdf") as ds:
        assert ds.sizes == {"pair": 28, "run": 12, "condition": 8, "voxel": 530, "axis": 3}
        assert list(ds["condition"].values) == sorted(
            ["face", "house", "cat", "shoe", "scissors", "scrambledpix", "bottle", "chair"]
        )
        rdm = squareform(ds["rdm"].values)
        assert ds.attrs["simulated"] == 0 and "cbbd4d07803c" in ds.attrs["inputs"]
        conds = list(ds["condition"].values)
    # crossvalidated distances are unbiased: every pair of categories is reliably distinct
    assert (rdm[np.triu_indices(8, 1)] > 0).all()
    # in this posterior occipital slice houses and scrambled pictures stand out most
    most_distinct = [conds[i] for i in np.argsort(rdm.sum(axis=0))[-2:]]
    assert set(most_distinct) == {"house", "scrambledpix"}


def test_haxby_model_comparison_outputs(haxby_rdm, tmp_path):
    models = {
        "house": [["house"]],
        "intact_vs_scrambled": [["face", "cat", "house", "shoe", "scissors", "bottle", "chair"]],
        "face": [["face"]],
    }
    out = [tmp_path / n for n in ("m.tsv", "m.png", "r.png")]
    pipeline.model_comparison_file(haxby_rdm, *out, models=models, statistics=STATS, n_boot=30)
    table = pd.read_csv(out[0], sep="\t")
    assert len(table) == 3 * 3 and (out[0].with_suffix(".json")).is_file()
    plain = table[table["statistic"] == "rdm"].set_index("model")
    assert plain.loc["house", "evaluation"] > plain.loc["face", "evaluation"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in out[1:])


def test_head_direction_cells_are_tuned_and_form_a_ring(units_file, tmp_path):
    tuning = tuning_curves(units_file, n_bins=36, epoch="wake", location="adn")
    assert tuning["rate"].shape == (36, 7)
    rate = tuning["rate"].values
    assert (rate.max(axis=0) > 10 * np.maximum(rate.min(axis=0), 1e-3)).all()
    # the wake epoch is 600 s; head tracking starts 70 s into it
    assert 500 < float(tuning["occupancy"].sum()) <= 600
    out = [tmp_path / n for n in ("hd.nc", "hd.tsv", "hd.png", "m.png")]
    pipeline.headdirection_files(units_file, *out, subject="A2929", statistics=STATS, n_boot=30)
    table = pd.read_csv(out[1], sep="\t")
    winners = table[table["rank"] == 1].set_index("statistic")["model"]
    assert winners["rdm"] == "ring" and winners["rgdm_l0.00_u1.00"] == "ring"


def test_truncated_attributes_table_names_the_file(haxby, tmp_path):
    bold, mask, attributes = haxby
    short = tmp_path / "attributes_literal.txt"
    short.write_text("".join(Path(attributes).read_text().splitlines(True)[:100]))
    with pytest.raises(ValueError, match=f"{short}: 100 rows but .*bold.nii.gz has 1452"):
        pipeline.read_haxby(bold, mask, short)


def test_corrupt_bold_image_names_the_file_and_writes_nothing(haxby, tmp_path):
    bold, mask, attributes = haxby
    broken = tmp_path / "bold.nii.gz"
    broken.write_bytes(gzip.compress(b"not a nifti header" * 10))
    out = tmp_path / "out.nc"
    with pytest.raises(ValueError, match="cannot read NIfTI image .*bold.nii.gz"):
        pipeline.haxby_rdm_file(broken, mask, attributes, out, subject="1", task="x")
    assert list(tmp_path.iterdir()) == [broken]


def test_unknown_epoch_or_location_names_the_units_file(units_file):
    with pytest.raises(ValueError, match=f"units file {units_file}: no epoch tagged 'run'"):
        tuning_curves(units_file, epoch="run")
    with pytest.raises(ValueError, match="no unit with location 'v1'"):
        tuning_curves(units_file, location="v1")


def test_an_nwb_file_given_as_units_file_is_refused_naming_it(nwb):
    from neuroflow.activity.readers import ActivityReadError

    with pytest.raises(ActivityReadError, match="not a units file|not a readable NetCDF"):
        tuning_curves(nwb)
