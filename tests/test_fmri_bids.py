"""fMRI inputs through the BIDS query layer (pybids): fMRIPrep volumes at res-1 and res-2,
fsaverage5 GIfTI pairs, a CIFTI-2 dtseries with a dlabel atlas, XCP-D region time series.

The derivatives trees are SIMULATED here with nibabel (real formats, known signals): every
run gets its own row with every entity in its stem, the parcellations return the planted
region signals (numpy reference), the cohort filters select runs, bad inputs stop with the
file and the config key, and a ``snakemake -n`` plans jobs for every run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml

from neuroflow.bids import BIDSInputError
from neuroflow.fmri import pipeline as P
from neuroflow.fmri.inputs import check_fmri_inputs, fmri_index
from neuroflow.fmri.simulate import write_description

REPO = Path(__file__).resolve().parents[1]
MNI = "MNI152NLin2009cAsym"
T_R = 2.0
N_VOL = 8
SCHAEFER = str(
    REPO
    / "resources/fmri/atlases"
    / "tpl-fsaverage_hemi-{h}_den-10k_atlas-Schaefer2018_desc-100Parcels_dseg.label.gii"
)
STRATEGIES = {"simple": {"loader": "simple", "options": {"motion": "basic"}}, "minimal": {"loader": "none"}}


# --------------------------------------------------------------------------- the tree
def _signals(seed: int, n: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((N_VOL, n))


def _volume(path: Path, voxel_mm: float, signals: np.ndarray) -> None:
    """A 12 mm cube: x < 5 mm carries signals[:, 0], the rest signals[:, 1] (+100)."""
    n = int(round(12 / voxel_mm))
    centers = np.arange(n) * voxel_mm
    data = np.empty((n, n, n, N_VOL), np.float32)
    data[centers < 5] = 100 + signals[:, 0]
    data[centers >= 5] = 100 + signals[:, 1]
    img = nib.Nifti1Image(data, np.diag([voxel_mm] * 3 + [1.0]))
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = T_R
    nib.save(img, path)
    Path(str(path).replace(".nii.gz", ".json")).write_text(json.dumps({"RepetitionTime": T_R}))


def _confounds(func: Path, prefix: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cols = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
    table = pd.DataFrame(rng.normal(0, 0.01, (N_VOL, 6)).cumsum(0), columns=cols)
    table["white_matter"], table["csf"] = rng.standard_normal((2, N_VOL))
    table["framewise_displacement"] = np.r_[np.nan, np.full(N_VOL - 1, 0.1)]
    table.to_csv(func / f"{prefix}_desc-confounds_timeseries.tsv", sep="\t", index=False, na_rep="n/a")
    (func / f"{prefix}_desc-confounds_timeseries.json").write_text(
        json.dumps({c: {"Description": "simulated"} for c in table.columns})
    )


def _gifti_pair(func: Path, prefix: str) -> np.ndarray:
    rng = np.random.default_rng(5)
    data = rng.standard_normal((2, 10242, N_VOL)).astype(np.float32) + 50
    for h, arr in zip("LR", data):
        img = nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(arr[:, t]) for t in range(N_VOL)])
        nib.save(img, func / f"{prefix}_hemi-{h}_space-fsaverage5_bold.func.gii")
    (func / f"{prefix}_space-fsaverage5_bold.json").write_text(json.dumps({"RepetitionTime": T_R}))
    return data


def _brain_models(order: str):
    """Two small hemispheres (40 vertices, 30 of them in the series) and a 2x2x2 thalamus."""
    cifti = nib.cifti2
    left = cifti.BrainModelAxis.from_surface(np.arange(30), 40, "CortexLeft")
    right = cifti.BrainModelAxis.from_surface(np.arange(10, 40), 40, "CortexRight")
    vox = np.array(np.nonzero(np.ones((2, 2, 2)))).T + 1
    if order == "atlas":  # the atlas lists every vertex, right first, voxels reversed
        left = cifti.BrainModelAxis.from_surface(np.arange(40), 40, "CortexLeft")
        right = cifti.BrainModelAxis.from_surface(np.arange(40)[::-1], 40, "CortexRight")
        vox = vox[::-1]
    thal = cifti.BrainModelAxis(
        name="CIFTI_STRUCTURE_THALAMUS_LEFT",
        voxel=vox,
        affine=np.diag([2.0, 2.0, 2.0, 1.0]),
        volume_shape=(4, 4, 4),
    )
    return right + left + thal if order == "atlas" else left + right + thal


def _cifti_label(structure: str, vertex: int, voxel) -> int:
    """The planted parcellation: 1 = left x < 15, 2 = the rest of the left, 3 = right, 4 = thalamus."""
    if structure.endswith("CORTEX_LEFT"):
        return 1 if vertex < 15 else 2
    if structure.endswith("CORTEX_RIGHT"):
        return 3 if vertex % 2 else 0  # even right vertices: medial wall (no region)
    return 4


def _labels_of(axis) -> np.ndarray:
    return np.array(
        [_cifti_label(name, vertex, voxel) for name, voxel, vertex in zip(axis.name, axis.voxel, axis.vertex)]
    )


def _cifti(func: Path, prefix: str, atlas_path: Path) -> np.ndarray:
    cifti = nib.cifti2
    bold_axis = _brain_models("bold")
    rng = np.random.default_rng(7)
    data = rng.standard_normal((N_VOL, len(bold_axis))).astype(np.float32) + 10
    img = cifti.Cifti2Image(data, header=(cifti.SeriesAxis(0, T_R, N_VOL, "second"), bold_axis))
    img.nifti_header.set_intent("ConnDenseSeries")
    nib.save(img, func / f"{prefix}_space-fsLR_den-91k_bold.dtseries.nii")
    (func / f"{prefix}_space-fsLR_den-91k_bold.dtseries.json").write_text(json.dumps({"RepetitionTime": T_R}))
    atlas_axis = _brain_models("atlas")
    table = {0: ("???", (0, 0, 0, 0)), **{k: (f"region{k}", (k / 4, 0.5, 0.5, 1.0)) for k in (1, 2, 3, 4)}}
    lab = cifti.Cifti2Image(
        _labels_of(atlas_axis)[None, :].astype(np.int32),
        header=(cifti.LabelAxis(["parcels"], [table]), atlas_axis),
    )
    lab.nifti_header.set_intent("ConnDenseLabel")
    nib.save(lab, atlas_path)
    return data


def make_tree(root: Path) -> dict:
    """fMRIPrep (sub-01: res-1/res-2 volumes, GIfTI pair, CIFTI; sub-02: 2 sessions, volumes)
    and XCP-D (sub-01 region time series) folders; returns the planted truths."""
    fp, xcpd = root / "fmriprep", root / "xcpd"
    write_description(fp)
    write_description(xcpd, "XCP-D")
    func = fp / "sub-01/func"
    func.mkdir(parents=True)
    pre = "sub-01_task-rest_run-1"
    truth = {"volume": _signals(1)}
    for res, mm in (("1", 2.0), ("2", 4.0)):
        _volume(func / f"{pre}_space-{MNI}_res-{res}_desc-preproc_bold.nii.gz", mm, truth["volume"])
    nib.save(
        nib.Nifti1Image(np.ones((6, 6, 6), np.uint8), np.diag([2.0, 2.0, 2.0, 1.0])),
        func / f"{pre}_space-{MNI}_res-1_desc-brain_mask.nii.gz",
    )
    _confounds(func, pre, 1)
    truth["gifti"] = _gifti_pair(func, pre)
    truth["cifti"] = _cifti(func, pre, root / "atlas-toy_den-91k_dseg.dlabel.nii")
    for ses, run in (("1", "1"), ("1", "2"), ("2", "1")):
        f2 = fp / f"sub-02/ses-{ses}/func"
        f2.mkdir(parents=True, exist_ok=True)
        p2 = f"sub-02_ses-{ses}_task-rest_run-{run}"
        _volume(f2 / f"{p2}_space-{MNI}_res-2_desc-preproc_bold.nii.gz", 4.0, _signals(2))
        _confounds(f2, p2, 2)
    xf = xcpd / "sub-01/func"
    xf.mkdir(parents=True)
    ts = pd.DataFrame(_signals(3, 3), columns=["LH_Vis_1", "RH_Vis_1", "Thal_1"])
    ts["LH_Lim_1"] = np.nan  # a parcel XCP-D left without coverage
    name = f"{pre}_space-fsLR_seg-4S156Parcels_den-91k_stat-mean_timeseries"
    ts.to_csv(xf / f"{name}.tsv", sep="\t", index=False, na_rep="n/a")
    (xf / f"{name}.json").write_text(json.dumps({"RepetitionTime": T_R}))
    # no sidecar: the TR comes from fMRIPrep's BOLD JSON of the same run
    ts.iloc[:, :2].to_csv(
        xf / f"{pre}_space-{MNI}_seg-Gordon_stat-mean_timeseries.tsv", sep="\t", index=False
    )
    truth["xcpd"] = ts
    # the atlas of the volumes: x < 5 mm -> 1, the rest -> 2, on the 2 mm grid
    lab = np.where(np.arange(6) * 2.0 < 5, 1, 2)[:, None, None] * np.ones((6, 6, 6), np.int16)
    nib.save(
        nib.Nifti1Image(lab.astype(np.int16), np.diag([2.0, 2.0, 2.0, 1.0])),
        root / "tpl-toy_res-1_dseg.nii.gz",
    )
    return truth


def make_config(root: Path, **top) -> dict:
    fmri = {
        "activate": True,
        "sample_sheet": "",
        "datasets": [],
        "participants": {},
        "derivatives_dirs": [],
        "scan": {
            "tasks": [],
            "spaces": [],
            "desc": "preproc",
            "strategies": ["simple"],
            "timeseries_strategies": [],
        },
        "strategies": STRATEGIES,
        "atlases": {
            "toy": {"space": MNI, "path": str(root / "tpl-toy_res-1_dseg.nii.gz")},
            "schaefer100": {
                "space": "fsaverage5",
                "left": SCHAEFER.format(h="L"),
                "right": SCHAEFER.format(h="R"),
            },
            "toycifti": {
                "space": "fsLR",
                "den": "91k",
                "dlabel": str(root / "atlas-toy_den-91k_dseg.dlabel.nii"),
            },
        },
    }
    cfg = {
        "derivatives": [str(root / "fmriprep"), str(root / "xcpd")],
        "participant_label": [],
        "exclude_participant_label": [],
        "sessions": "all",
        "runs": "all",
        "tasks": "all",
        "resources": {"dest": str(root / "resources")},
        "fmri": fmri,
    }
    cfg.update(top)
    return cfg


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("bids")
    return root, make_tree(root)


@pytest.fixture(scope="module")
def index(tree):
    root, _ = tree
    return fmri_index(make_config(root)).set_index("stem", drop=False)


# --------------------------------------------------------------------------- the index
def test_one_row_per_run_resolution_space_and_density_with_every_entity(index):
    pre = "sub-01_task-rest_run-1"
    expected = {
        f"{pre}_space-{MNI}_res-1": "volume",
        f"{pre}_space-{MNI}_res-2": "volume",
        f"{pre}_space-fsaverage5": "surface",
        f"{pre}_space-fsLR_den-91k": "cifti",
        f"{pre}_space-fsLR_seg-4S156Parcels_den-91k": "timeseries",
        f"{pre}_space-{MNI}_seg-Gordon": "timeseries",
        f"sub-02_ses-1_task-rest_run-1_space-{MNI}_res-2": "volume",
        f"sub-02_ses-1_task-rest_run-2_space-{MNI}_res-2": "volume",
        f"sub-02_ses-2_task-rest_run-1_space-{MNI}_res-2": "volume",
    }
    assert dict(zip(index["stem"], index["kind"])) == expected
    assert index.loc[f"sub-02_ses-2_task-rest_run-1_space-{MNI}_res-2", "folder"] == "sub-02/ses-2/func"
    vols = index[index["kind"] == "volume"]
    assert (vols["atlases"] == "toy").all() and (vols["strategies"] == "simple").all()
    assert all(Path(c).name.endswith("_desc-confounds_timeseries.tsv") for c in vols["confounds"])
    surf = index.loc[f"{pre}_space-fsaverage5"]
    assert "hemi-L" in surf["bold"] and "hemi-R" in surf["bold_rh"] and surf["atlases"] == "schaefer100"
    cif = index.loc[f"{pre}_space-fsLR_den-91k"]
    assert cif["atlases"] == "toycifti" and cif["bold_json"].endswith("_bold.dtseries.json")
    xcpd = index.loc[f"{pre}_space-fsLR_seg-4S156Parcels_den-91k"]
    assert (xcpd["atlas"], xcpd["strategies"], xcpd["confounds"]) == ("4S156Parcels", "minimal", "")
    assert (float(xcpd["t_r"]), xcpd["t_r_source"]) == (T_R, "sidecar")
    gordon = index.loc[f"{pre}_space-{MNI}_seg-Gordon"]
    assert (float(gordon["t_r"]), gordon["t_r_source"]) == (T_R, "bold")


@pytest.mark.parametrize(
    "top, stems",
    [
        (
            {"participant_label": ["02"]},
            {"sub-02_ses-1_task-rest_run-1", "sub-02_ses-1_task-rest_run-2", "sub-02_ses-2_task-rest_run-1"},
        ),
        ({"participant_label": ["sub-02"], "sessions": ["1"], "runs": [2]}, {"sub-02_ses-1_task-rest_run-2"}),
        ({"exclude_participant_label": ["01"], "sessions": ["2"]}, {"sub-02_ses-2_task-rest_run-1"}),
    ],
)
def test_participant_session_and_run_filters_select_runs(tree, top, stems):
    root, _ = tree
    found = fmri_index(make_config(root, **top))
    assert {s.split("_space-")[0] for s in found["stem"]} == stems


def test_spaces_filter_keeps_one_space(tree):
    root, _ = tree
    cfg = make_config(root)
    cfg["fmri"]["scan"]["spaces"] = ["fsLR"]
    cfg["participant_label"] = ["01"]
    assert set(fmri_index(cfg)["kind"]) == {"cifti", "timeseries"}


# --------------------------------------------------------------------------- known answers
@pytest.mark.slow
def test_volumes_at_both_resolutions_give_the_planted_region_signals(tree, index, tmp_path):
    root, truth = tree
    for res in ("1", "2"):
        row = index.loc[f"sub-01_task-rest_run-1_space-{MNI}_res-{res}"].to_dict()
        out = tmp_path / f"res{res}_timeseries.tsv"
        P.run_parcellate(row, "toy", make_config(root)["fmri"]["atlases"]["toy"], out)
        got = pd.read_csv(out, sep="\t").to_numpy()
        np.testing.assert_allclose(got, 100 + truth["volume"], rtol=0, atol=1e-4)
        n_units = json.loads(out.with_suffix(".json").read_text())["RegionNUnits"]
        assert n_units == ([3 * 36, 3 * 36] if res == "1" else [2 * 9, 9])


def test_cifti_means_equal_the_region_means_by_grayordinate(tree, index, tmp_path):
    root, truth = tree
    row = index.loc["sub-01_task-rest_run-1_space-fsLR_den-91k"].to_dict()
    out = tmp_path / "cifti_timeseries.tsv"
    P.run_parcellate(row, "toycifti", make_config(root)["fmri"]["atlases"]["toycifti"], out)
    got = pd.read_csv(out, sep="\t")
    labels = _labels_of(_brain_models("bold"))  # the planted label of every series column
    data = truth["cifti"].astype(np.float64)
    ref = np.column_stack([data[:, labels == k].mean(axis=1) for k in (1, 2, 3, 4)])
    assert list(got.columns) == ["region1", "region2", "region3", "region4"]
    np.testing.assert_allclose(got.to_numpy(), ref, rtol=1e-6)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["RegionNUnits"] == [15, 15, 15, 8] and meta["GrayordinatesWithoutLabel"] == 15
    assert meta["RepetitionTime"] == T_R


def test_cifti_atlas_on_other_grayordinates_names_the_atlas(tree, index, tmp_path):
    root, _ = tree
    cifti = nib.cifti2
    other = cifti.BrainModelAxis.from_surface(np.arange(50), 50, "CortexLeft")
    bad = tmp_path / "other.dlabel.nii"
    img = cifti.Cifti2Image(
        np.ones((1, 50), np.int32),
        header=(cifti.LabelAxis(["p"], [{0: ("???", (0, 0, 0, 0)), 1: ("a", (1, 0, 0, 1))}]), other),
    )
    img.nifti_header.set_intent("ConnDenseLabel")
    nib.save(img, bad)
    row = index.loc["sub-01_task-rest_run-1_space-fsLR_den-91k"].to_dict()
    with pytest.raises(ValueError, match="50 vertices but the BOLD series has 40") as err:
        P.run_parcellate(row, "bad", {"space": "fsLR", "dlabel": str(bad)}, tmp_path / "x.tsv")
    assert "other.dlabel.nii" in str(err.value)


def test_gifti_pair_means_equal_numpy_reference(tree, index, tmp_path):
    root, truth = tree
    row = index.loc["sub-01_task-rest_run-1_space-fsaverage5"].to_dict()
    out = tmp_path / "gii_timeseries.tsv"
    P.run_parcellate(row, "schaefer100", make_config(root)["fmri"]["atlases"]["schaefer100"], out)
    got = pd.read_csv(out, sep="\t")
    lab_l = nib.load(SCHAEFER.format(h="L")).darrays[0].data
    lab_r = nib.load(SCHAEFER.format(h="R")).darrays[0].data
    data = np.concatenate(truth["gifti"].astype(np.float64))
    labels = np.concatenate([lab_l, lab_r])
    assert got.shape == (N_VOL, 100)
    for k, name in ((1, "LH_001"), (100, "RH_050")):
        np.testing.assert_allclose(got[name], data[labels == k].mean(axis=0), rtol=1e-6)


def test_xcpd_timeseries_keep_regions_and_list_the_empty_one(tree, index, tmp_path):
    root, truth = tree
    row = index.loc["sub-01_task-rest_run-1_space-fsLR_seg-4S156Parcels_den-91k"].to_dict()
    out = tmp_path / "xcpd_timeseries.tsv"
    P.run_parcellate(row, row["atlas"], {}, out)
    got = pd.read_csv(out, sep="\t")
    np.testing.assert_allclose(
        got[["LH_Vis_1", "RH_Vis_1", "Thal_1"]].to_numpy(), truth["xcpd"].iloc[:, :3].to_numpy(), rtol=1e-9
    )
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["EmptyRegions"] == ["LH_Lim_1"] and "sidecar" in meta["RepetitionTimeSource"]


def test_confounds_of_the_res2_run_are_found_by_nilearn(tree, index, tmp_path):
    root, _ = tree
    row = index.loc[f"sub-01_task-rest_run-1_space-{MNI}_res-2"].to_dict()
    out = tmp_path / "regressors.tsv"
    P.run_confounds(row, "simple", STRATEGIES["simple"], 0.0, 0.0, out)
    assert set(pd.read_csv(out, sep="\t").columns) == {
        "trans_x",
        "trans_y",
        "trans_z",
        "rot_x",
        "rot_y",
        "rot_z",
        "white_matter",
        "csf",
    }


# --------------------------------------------------------------------------- bad inputs
def _raises(cfg, *needles):
    with pytest.raises(ValueError) as err:
        check_fmri_inputs(cfg)
    for needle in needles:
        assert needle in str(err.value), (needle, str(err.value))
    return err


def test_missing_derivatives_folder_names_the_folder_and_key(tmp_path):
    cfg = make_config(tmp_path, derivatives=[str(tmp_path / "nowhere")])
    err = _raises(cfg, "derivatives[0]", "nowhere")
    assert isinstance(err.value, BIDSInputError)


def test_folder_without_dataset_description_names_the_file_and_key(tree, tmp_path):
    root, _ = tree
    copy = tmp_path / "fmriprep"
    shutil.copytree(root / "fmriprep/sub-02", copy / "sub-02")
    _raises(
        make_config(root, derivatives=[str(root / "xcpd"), str(copy)]),
        "derivatives[1]",
        str(copy / "dataset_description.json"),
    )


def test_participant_without_bold_names_the_participant_folder_and_key(tree, tmp_path):
    root, _ = tree
    copy = tmp_path / "fmriprep"
    shutil.copytree(root / "fmriprep", copy)
    (copy / "sub-03/anat").mkdir(parents=True)
    nib.save(
        nib.Nifti1Image(np.zeros((2, 2, 2), np.float32), np.eye(4)),
        copy / f"sub-03/anat/sub-03_space-{MNI}_desc-preproc_T1w.nii.gz",
    )
    _raises(
        make_config(root, derivatives=[str(copy)]),
        "sub-03",
        "derivatives[0]",
        str(copy),
        "exclude_participant_label",
    )
    _raises(
        make_config(root, derivatives=[str(copy)], participant_label=["01", "03"]),
        "sub-03",
        "config key participant_label",
    )
    ok = fmri_index(make_config(root, derivatives=[str(copy)], exclude_participant_label=["03"]))
    assert set(ok["sub"]) == {"01", "02"}


def test_cifti_run_without_cifti_atlas_names_the_run_and_key(tree):
    root, _ = tree
    cfg = make_config(root)
    del cfg["fmri"]["atlases"]["toycifti"]
    _raises(cfg, "CIFTI", "fmri.atlases", "_space-fsLR_den-91k_bold.dtseries.nii", "den: 91k")


def test_timeseries_without_repetition_time_names_the_file_and_key(tree, tmp_path):
    root, _ = tree
    xcpd = tmp_path / "xcpd"
    shutil.copytree(root / "xcpd", xcpd)
    name = "sub-01_task-rest_run-1_space-fsLR_seg-4S156Parcels_den-91k_stat-mean_timeseries"
    (xcpd / f"sub-01/func/{name}.json").unlink()
    for gordon in xcpd.glob("sub-01/func/*_seg-Gordon_*"):
        gordon.unlink()
    _raises(make_config(root, derivatives=[str(xcpd)]), "derivatives[0]", f"{name}.tsv", "RepetitionTime")


def test_moved_config_keys_say_where_they_went(tree):
    root, _ = tree
    cfg = make_config(root)
    cfg["fmri"]["derivatives_dirs"] = [str(root / "fmriprep")]
    _raises(cfg, "fmri.derivatives_dirs", "derivatives (top level)")
    cfg = make_config(root)
    cfg["fmri"]["scan"]["tasks"] = ["rest"]
    _raises(cfg, "fmri.scan.tasks", "tasks (top level)")


# --------------------------------------------------------------------------- workflow
@pytest.mark.workflow
def test_dry_run_plans_jobs_for_both_resolutions_and_the_cifti_run(tree, tmp_path):
    from neuroflow.devtools import copy_workflow, run_snakemake

    root, _ = tree
    work = copy_workflow(tmp_path / "wf", REPO)
    base = yaml.safe_load((work / "config/config.yaml").read_text()) or {}
    cfg = {
        name: {"activate": False}
        for name, section in base.items()
        if isinstance(section, dict) and "activate" in section
    }
    cfg["connectome"] = {"activate": False}
    cfg.update(make_config(root))
    cfg.pop("resources")
    (work / "fmri_bids.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(work, "-n", "--configfile", "fmri_bids.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    pre = "results/sub-01/func/sub-01_task-rest_run-1_space-"
    for stem in (f"{MNI}_res-1", f"{MNI}_res-2", "fsLR_den-91k", "fsaverage5"):
        assert f"{pre}{stem}_desc-qc_bold.tsv" in out, stem
    assert f"{pre}fsLR_den-91k_atlas-toycifti_desc-simple_timeseries.tsv" in out
    assert f"{pre}{MNI}_res-2_atlas-toy_desc-simple_timeseries.tsv" in out
    assert f"{pre}fsLR_seg-4S156Parcels_den-91k_atlas-4S156Parcels_desc-minimal_timeseries.tsv" in out
    assert "fmri_index" in out


def test_output_names_give_back_every_entity_for_the_group_index():
    from neuroflow.fmri.index import parse_entities

    ents = parse_entities(
        "results/sub-02/ses-1/func/sub-02_ses-1_task-rest_run-2_space-fsLR_den-91k"
        "_atlas-toycifti_desc-simple_timeseries.tsv"
    )
    assert ents == {
        "sub": "02",
        "ses": "1",
        "task": "rest",
        "run": "2",
        "space": "fsLR",
        "den": "91k",
        "atlas": "toycifti",
        "desc": "simple",
    }


def test_the_pybids_index_is_cached_on_disk_and_rebuilt_when_the_tree_changes(tmp_path, monkeypatch):
    """A second process loads the index instead of indexing again; a file added anywhere
    in the tree gives a new index that sees it."""
    import json

    from neuroflow import bids as B

    monkeypatch.setenv("NEUROFLOW_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "ds"
    (root / "sub-01/eeg").mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "t", "BIDSVersion": "1.9.0"}))
    (root / "sub-01/eeg/sub-01_task-rest_eeg.edf").write_bytes(b"")
    sel = B.Selection.from_config({"bids_dir": str(root)})
    first = B.query(root, sel, datatype="eeg", suffix="eeg")
    assert [(r["sub"], r["task"]) for r in first] == [("01", "rest")]
    cached = list((tmp_path / "cache/pybids").iterdir())
    assert len(cached) == 1 and (cached[0] / "layout_index.sqlite").is_file()
    B._layout.cache_clear()  # as a new process would start
    assert B.query(root, sel, datatype="eeg", suffix="eeg") == first
    assert list((tmp_path / "cache/pybids").iterdir()) == cached  # loaded, not rebuilt
    (root / "sub-02/eeg").mkdir(parents=True)
    (root / "sub-02/eeg/sub-02_task-rest_run-1_eeg.edf").write_bytes(b"")
    again = B.query(root, sel, datatype="eeg", suffix="eeg")
    assert [(r["sub"], r.get("run")) for r in again] == [("01", None), ("02", "1")]
    assert len(list((tmp_path / "cache/pybids").iterdir())) == 2


def test_the_cohorts_simulated_flag_reaches_the_index_and_every_run_output(tree, tmp_path):
    """fmri.simulated (the user's word) is an index column and stamps the run's outputs;
    a sample-sheet cell that is not true/false is an error naming the run."""
    import json

    from neuroflow.fmri.index import _simulated_cell
    from neuroflow.output_schema import is_simulated

    root, _ = tree
    config = make_config(root)
    config["fmri"]["simulated"] = True
    sim = fmri_index(config).set_index("stem", drop=False)
    assert sim["simulated"].tolist() == [True] * len(sim)
    row = sim.loc["sub-01_task-rest_run-1_space-fsaverage5"].to_dict()
    out = tmp_path / "sim_timeseries.tsv"
    P.run_parcellate(row, "schaefer100", config["fmri"]["atlases"]["schaefer100"], out)
    assert is_simulated(json.loads(out.with_suffix(".json").read_text())) is True
    row["simulated"] = False
    P.run_parcellate(row, "schaefer100", config["fmri"]["atlases"]["schaefer100"], out)
    assert is_simulated(json.loads(out.with_suffix(".json").read_text())) is False
    assert _simulated_cell("", True, "x") is True and _simulated_cell("0", True, "x") is False
    with pytest.raises(ValueError, match="run sub-9.*simulated must be true or false"):
        _simulated_cell("maybe", False, "sub-9")
