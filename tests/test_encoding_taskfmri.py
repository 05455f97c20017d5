"""encoding.task: a BIDS cohort's task runs -> event features -> denoised BOLD -> ridge.

Same synthetic dataset as tests/test_trsa_taskfmri.py: region 1 responds to the events
(known patterns), region 2 is noise. The cross-validated encoding model must predict
region 1 and not region 2.
"""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import spearmanr
from test_trsa_taskfmri import CONDITIONS, TR, make_dataset, task_config

from neuroflow.encoding.features import events_boxcar
from neuroflow.rsa.inputs import plan_task


def test_events_boxcar_is_the_covered_fraction_of_each_volume():
    events = pd.DataFrame(
        {"onset": [3.0, 0.0, 9.0], "duration": [4.0, 1.0, 0.0], "trial_type": ["a", "b", "a"]}
    )
    x = events_boxcar(events, 6, 2.0, ["a", "b"])
    np.testing.assert_allclose(x[:, 0], [0, 0.5, 1.0, 0.5, 1.0, 0])  # 3-7 s, stick at 9 s
    np.testing.assert_allclose(x[:, 1], [0.5, 0, 0, 0, 0, 0])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("encoding_task"), n_subjects=1)


def encoding_config(data):
    cfg = task_config(data)
    task = {
        k: v
        for k, v in cfg["trsa"]["task"].items()
        if k in ("activate", "space", "res", "conditions", "confounds", "min_runs", "atlas")
    }
    return {**cfg, "encoding": {"task": task}}


def test_encoding_predicts_the_responsive_region_only(dataset, tmp_path):
    from neuroflow.encoding.pipeline import ridge_files
    from neuroflow.encoding.settings import (
        NoiseCeilingSettings,
        PermutationSettings,
        RidgeSettings,
    )
    from neuroflow.encoding.taskdesign import task_design_file

    plan = plan_task(encoding_config(dataset), "encoding.task", min_conditions=1)
    (subject,) = plan.subjects.values()
    runs = subject.runs
    design = tmp_path / "design.nc"
    task_design_file(
        [r.bold for r in runs],
        [r.mask for r in runs],
        [r.events for r in runs],
        [r.confounds for r in runs],
        str(dataset["atlas"]),
        str(dataset["labels"]),
        design,
        conditions=CONDITIONS,
        entities=subject.entities,
        confounds_strategy="simple",
        confounds_options={},
        high_pass=1 / 128,
        responses="voxels",
        simulated=True,
    )
    with xr.open_dataset(design, engine="h5netcdf") as ds:
        assert int(ds.attrs["simulated"]) == 1  # the user's word, on the design
        assert ds["features"].shape == (3 * 100, 4) and ds.attrs["sampling_rate_hz"] == 1 / TR
        assert ds["responses"].shape[1] == 900  # two regions of 450 voxels inside the mask
        assert sorted(set(ds["block"].values)) == [0, 1, 2]
        resp = ds["responses"].values
        np.testing.assert_allclose(resp[:100].mean(axis=0), 0, atol=1e-8)  # z-scored per run
        region = ds["region"].values
        flat = np.ravel_multi_index(
            (ds["voxel_i"].values, ds["voxel_j"].values, ds["voxel_k"].values), (10, 10, 10)
        )
    out = tmp_path / "enc"
    settings = RidgeSettings(
        experiment="task",
        lags_s=(0.0, 10.0),
        model="auto",
        alphas=tuple(np.logspace(-1, 5, 7)),
        n_folds=None,
        n_inner_folds=2,
        n_iter=1,
        permutation=PermutationSettings(mode="refit_fixed", n=0, min_shift_s=20.0),
        noise_ceiling=NoiseCeilingSettings(enabled=False),
        device="cpu",
        backend="auto",
        n_targets_batch=None,
        random_state=0,
        threads=1,
    )
    ridge_files(design, f"{out}.nc", f"{out}_scores.tsv", f"{out}.png", settings)
    scores = pd.read_csv(f"{out}_scores.tsv", sep="\t")
    r_signal = scores["r"][region == "signal"]
    r_noise = scores["r"][region == "noise"]
    assert r_signal.median() > 0.1 and abs(r_noise.median()) < 0.02
    # the better predicted voxels are those whose true response differs most across conditions
    amplitude = dataset["patterns"][:, flat[region == "signal"]].std(axis=0)
    assert spearmanr(r_signal, amplitude).statistic > 0.5
