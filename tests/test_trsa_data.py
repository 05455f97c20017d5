"""Real data through the tRSA file functions: Haxby 2001 subject 1 and a head-direction ring.

The files are fetched once (pip download, sha256-verified) into the git-ignored
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
STATS = [{"kind": "rdm"}, {"kind": "rgtm", "lower": 0.45, "upper": 0.55},
         {"kind": "rgdm", "lower": 0.0, "upper": 1.0}]


def _fetch(dataset_id):
    manifest = load_manifest(REPO / "resources" / "datasets.yaml")
    env = os.environ.get("NEUROFLOW_TEST_TRSA_DATA")
    if env:
        return dataset_paths(manifest, dataset_id, Path(env).expanduser())
    try:
        return fetch_dataset(manifest, dataset_id, REPO / "resources" / "data")
    except Exception as exc:  # no network, checksum mismatch, ...
        pytest.fail(f"cannot fetch {dataset_id}: {type(exc).__name__}: {exc} "
                    "(set NEUROFLOW_TEST_TRSA_DATA to a folder holding it)")


@pytest.fixture(scope="module")
def haxby():
    return _fetch("haxby2001_sub1")


@pytest.fixture(scope="module")
def nwb():
    return _fetch("pynapple_a2929_neurosuite")[0]


@pytest.fixture(scope="module")
def haxby_rdm(haxby, tmp_path_factory):
    out = tmp_path_factory.mktemp("haxby") / "sub-1_task-objectviewing_desc-crossnobis_rdm.nc"
    pipeline.haxby_rdm_file(*haxby, out, subject="1", task="objectviewing")
    return out


def test_haxby_crossnobis_rdm_separates_every_category(haxby_rdm):
    with xr.open_dataset(haxby_rdm, engine="h5netcdf") as ds:
        assert ds.sizes == {"pair": 28, "run": 12, "condition": 8, "voxel": 530, "axis": 3}
        assert list(ds["condition"].values) == sorted(
            ["face", "house", "cat", "shoe", "scissors", "scrambledpix", "bottle", "chair"])
        rdm = squareform(ds["rdm"].values)
        assert ds.attrs["simulated"] == "false" and "cbbd4d07803c" in ds.attrs["inputs"]
        conds = list(ds["condition"].values)
    # crossvalidated distances are unbiased: every pair of categories is reliably distinct
    assert (rdm[np.triu_indices(8, 1)] > 0).all()
    # in this posterior occipital slice houses and scrambled pictures stand out most
    most_distinct = [conds[i] for i in np.argsort(rdm.sum(axis=0))[-2:]]
    assert set(most_distinct) == {"house", "scrambledpix"}


def test_haxby_model_comparison_outputs(haxby_rdm, tmp_path):
    models = {"house": [["house"]], "intact_vs_scrambled": [
        ["face", "cat", "house", "shoe", "scissors", "bottle", "chair"]], "face": [["face"]]}
    out = [tmp_path / n for n in ("m.tsv", "m.png", "r.png")]
    pipeline.model_comparison_file(haxby_rdm, *out, models=models, statistics=STATS,
                                   n_boot=30)
    table = pd.read_csv(out[0], sep="\t")
    assert len(table) == 3 * 3 and (out[0].with_suffix(".json")).is_file()
    plain = table[table["statistic"] == "rdm"].set_index("model")
    assert plain.loc["house", "evaluation"] > plain.loc["face", "evaluation"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in out[1:])


def test_head_direction_cells_are_tuned_and_form_a_ring(nwb, tmp_path):
    tuning = tuning_curves(nwb, n_bins=36, epoch="wake", location="adn")
    assert tuning["rate"].shape == (36, 7)
    rate = tuning["rate"].values
    assert (rate.max(axis=0) > 10 * np.maximum(rate.min(axis=0), 1e-3)).all()
    # the wake epoch is 600 s; head tracking starts 70 s into it
    assert 500 < float(tuning["occupancy"].sum()) <= 600
    out = [tmp_path / n for n in ("hd.nc", "hd.tsv", "hd.png", "m.png")]
    pipeline.headdirection_files(nwb, *out, subject="A2929", statistics=STATS, n_boot=30)
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


def test_unknown_epoch_or_location_names_the_nwb_file(nwb):
    with pytest.raises(ValueError, match=f"NWB file {nwb}: no epoch tagged 'run'"):
        tuning_curves(nwb, epoch="run")
    with pytest.raises(ValueError, match="no unit with location 'v1'"):
        tuning_curves(nwb, location="v1")
