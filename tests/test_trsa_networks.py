"""Simulated network instances: shapes, learning, seeds, determinism, labelling."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr
from scipy.spatial.distance import squareform

from neuroflow.rsa.networks import activation_rdm, build_network, simulate_network_rdms
from neuroflow.rsa.pipeline import identification_files, network_rdms_file
from neuroflow.rsa.readers import read_rdm_stack
from neuroflow.rsa.settings import IdentificationSettings

TINY = dict(
    n_instances=3,
    conv_channels=[4, 4],
    fc_units=[16],
    epochs=3,
    batch_size=64,
    learning_rate=3e-3,
    stimuli_per_class=2,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("net") / "desc-networks_rdm.nc"
    network_rdms_file(out, **TINY, random_state=7)
    return out


def test_network_rdms_have_one_rdm_per_instance_and_layer(tiny):
    with xr.open_dataset(tiny, engine="h5netcdf") as ds:
        assert ds["rdm"].dims == ("instance", "layer", "pair")
        assert ds.sizes["instance"] == 3 and ds.sizes["pair"] == 20 * 19 // 2
        assert list(ds["layer"].values) == ["conv1", "conv2", "fc1", "output"]
        assert list(ds["instance"].values) == [7, 8, 9]  # the seeds
        assert list(ds["stimulus_class"].values) == sorted(list(range(10)) * 2)
        assert ds.attrs["simulated"] == 1 and "SIMULATED" in ds.attrs["title"]
        assert json.loads(ds.attrs["parameters"])["conv_channels"] == [4, 4]
        # the activations are stored and give the stored RDMs back (rsatoolbox calc_rdm)
        assert ds["activation_conv1"].dims == ("instance", "stimulus", "unit_conv1")
        act = ds["activation_fc1"].values[1].astype(float)
        assert (ds["test_accuracy"].values > 0.3).all()  # learnt (chance is 0.1)
        rdm = ds["rdm"].values
    assert np.isfinite(rdm).all() and (rdm >= 0).all()
    np.testing.assert_allclose(activation_rdm(act), rdm[1, 2], atol=1e-5)
    # instances differ (different seeds), layers differ
    assert not np.allclose(rdm[0], rdm[1]) and not np.allclose(rdm[0, 0], rdm[0, -1])


def test_same_seed_gives_byte_identical_file_and_leaves_torch_rng_alone(tiny, tmp_path):
    torch.manual_seed(1)
    expected_next = torch.rand(3)
    torch.manual_seed(1)
    again = tmp_path / "again.nc"
    network_rdms_file(again, **TINY, random_state=7)
    assert torch.equal(torch.rand(3), expected_next)
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(tiny.read_bytes()).digest()


TINY_IDENT = {
    "noise_levels": [0.0, 1.0],
    "activation_noise_levels": [0.0, 1.0],
    "noise_models": ["pooled", "scaled", "activation"],
    "family_kinds": ["rgtm"],
    "contrast": ["topology", "geometry"],
    "n_repeats": 1,
    "grid_resolution": 0.5,
    "grid_noise_levels": [0.0],
    "family_samples": 1,
    "n_boot": 10,
    "n_null": 10,
    "effect_of_interest": 0.05,
}


def test_identification_files_write_every_table_and_figure(tiny, tmp_path):
    keys = ("noise", "grid", "families", "samples", "tests", "claims", "selection")
    outputs = {k: tmp_path / f"{k}.tsv" for k in keys}
    figs = ("fig_noise", "fig_grid", "fig_families", "fig_claims")
    outputs.update({k: tmp_path / f"{k}.png" for k in figs})
    settings = IdentificationSettings.from_config(
        {
            "statistics": [{"kind": "rdm"}, {"kind": "rgtm"}],
            "identification": TINY_IDENT,
            "zero_edges": "drop",
            "random_state": 0,
        }
    )
    identification_files(tiny, outputs, settings)
    for key in keys:
        sidecar = json.loads(outputs[key].with_suffix(".json").read_text())
        assert sidecar["TableDescription"].startswith("SIMULATED") and sidecar["Simulated"] is True
        assert sidecar["Sources"] == ["desc-networks_rdm.nc"]
    for key in figs:
        assert outputs[key].read_bytes()[:4] == b"\x89PNG"
    claims = pd.read_csv(outputs["claims"], sep="\t")
    # one row per (noise model, level, kind); the stored activations feed the third model
    assert len(claims) == 3 * 2 and set(claims["noise_model"]) == {"pooled", "scaled", "activation"}
    assert set(claims["claim_holds"]) <= {"yes", "no", "inconclusive"}
    assert claims["power_at_effect"].between(0.05, 1).all()
    assert claims[claims["noise_model"] == "pooled"]["selected_accuracy"].notna().all()
    sidecar = json.loads(outputs["claims"].with_suffix(".json").read_text())
    assert "Claim tested" in sidecar["Verdict"] and sidecar["PooledToWithinSDRatio"] > 0
    assert set(sidecar["Protocol"]["NoiseModels"]) == {"pooled", "scaled", "activation"}


def test_rdm_stack_with_wrong_dims_names_the_file(tmp_path):
    bad = tmp_path / "bad.nc"
    xr.Dataset({"rdm": (("subject", "pair"), np.ones((2, 3)))}).to_netcdf(bad, engine="h5netcdf")
    with pytest.raises(ValueError, match=f"RDM stack {bad}: 'rdm' must have dims"):
        read_rdm_stack(bad)
    with pytest.raises(ValueError, match="RDM stack: file not found: .*missing.nc"):
        read_rdm_stack(tmp_path / "missing.nc")


def test_silent_stimulus_gets_correlation_distance_one():
    patterns = np.abs(np.random.default_rng(0).normal(size=(5, 8)))
    patterns[2] = patterns[4] = 0.0  # dead-ReLU stimuli
    rdm = squareform(activation_rdm(patterns))
    assert np.isfinite(rdm).all()
    assert rdm[2, 0] == rdm[2, 1] == rdm[3, 4] == 1.0 and rdm[2, 4] == 0.0
    assert rdm[0, 1] == pytest.approx(1 - np.corrcoef(patterns[0], patterns[1])[0, 1])


def test_too_many_convolutions_are_refused():
    with pytest.raises(ValueError, match="conv_channels: 1 to 6 layers"):
        build_network([4] * 7, [8])
    with pytest.raises(ValueError, match="n_instances: too small"):
        simulate_network_rdms(n_instances=1)


@pytest.mark.parametrize(
    "key, value, needle",
    [
        ("noise_models", ["scaled"], "noise_models: must include 'pooled'"),
        ("contrast", ["topology", "topology"], "contrast: two different families"),
    ],
)
def test_claim_settings_are_checked_naming_the_key(key, value, needle):
    from pathlib import Path

    from neuroflow.devtools import demo_config
    from neuroflow.resources import load_manifest
    from neuroflow.rsa.settings import check_trsa_config

    root = Path(__file__).resolve().parents[1]
    cfg = demo_config(root)
    for old in ("dataset", "subject"):  # moved keys (issue 17)
        cfg["trsa"]["headdirection"].pop(old, None)
    cfg["trsa"]["identification"][key] = value
    with pytest.raises(ValueError, match=f"trsa.identification.{needle}"):
        check_trsa_config(cfg, load_manifest(root / "resources/datasets.yaml"))
