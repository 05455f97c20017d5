"""Bad fMRI / EEG inputs that used to give silent wrong results (issue 18): each is now a
clear error naming the file or config key, or a recorded decision.

Every bad input is built in the test (tiny SIMULATED fMRIPrep runs from
:mod:`neuroflow.fmri.simulate`, hand-written tables and configs).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neuroflow.eeg import features as F
from neuroflow.eeg.inputs import CohortError, check_eeg_inputs
from neuroflow.fc.data import read_runs_table, samples_dataset
from neuroflow.fmri import pipeline as P
from neuroflow.fmri.atlases import check_label_table
from neuroflow.fmri.confounds import strategy_confounds
from neuroflow.fmri.simulate import SPACE, make_atlas, make_fmriprep_run

N_VOL = 40
COLUMNS = {
    "loader": "columns",
    "options": {"columns": ["white_matter", "csf"]},
    "detrend": True,
    "standardize": "zscore_sample",
    "standardize_confounds": True,
    "filter": False,
    "low_pass": None,
    "high_pass": None,
}


# --------------------------------------------------------------------------- EEG config
def _eeg_config(**sections) -> dict:
    eeg = {
        "activate": True,
        "embedded": {"activate": False},
        "simulate": {"n_subjects": 1},
        "preprocessing": {
            "filter": {"activate": True, "l_freq": 1.0, "h_freq": 45.0},
            "resample": {"activate": True, "sfreq": 128.0},
        },
        "features": copy.deepcopy(F.DEFAULTS),
    }
    for path, value in sections.items():
        node = eeg
        *parents, leaf = path.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return {"eeg": eeg}


def test_default_eeg_settings_pass():
    assert len(check_eeg_inputs(_eeg_config())) == 1


@pytest.mark.parametrize(
    "path, value, key",
    [
        ("features__bands", {**F.DEFAULTS["bands"], "alpha": [13.0, 8.0]}, "eeg.features.bands.alpha"),
        ("features__bands", {"theta": [4.0, 8.0], "alpha": [8.0, 8.0]}, "eeg.features.bands.alpha"),
        ("features__bands", {**F.DEFAULTS["bands"], "gamma": [60.0, 80.0]}, "eeg.features.bands.gamma"),
        ("preprocessing__filter__l_freq", -1.0, "eeg.preprocessing.filter.l_freq"),
        ("preprocessing__filter__h_freq", 80.0, "eeg.preprocessing.filter.h_freq"),
        ("simulate__exponent_range", [2.0, 1.0], "eeg.simulate.exponent_range"),
        ("simulate__alpha_range", [11.5, 8.5], "eeg.simulate.alpha_range"),
        ("features__specparam__alpha_range", [14.0, 7.0], "eeg.features.specparam.alpha_range"),
        ("features__specparam__freq_range", [40.0, 2.0], "eeg.features.specparam.freq_range"),
        ("features__fmax", 0.5, "eeg.features.fmin / fmax"),
    ],
)
def test_eeg_domain_errors_name_the_key_at_parse_time(path, value, key):
    with pytest.raises(CohortError) as err:
        check_eeg_inputs(_eeg_config(**{path: value}))
    assert key in str(err.value), str(err.value)


def test_h_freq_below_nyquist_passes_when_resampling_is_off():
    cfg = _eeg_config(preprocessing__filter__h_freq=80.0)
    cfg["eeg"]["preprocessing"]["resample"]["activate"] = False
    assert check_eeg_inputs(cfg)


def test_band_power_refuses_reversed_edges_instead_of_returning_zero():
    freqs = np.arange(1.0, 45.5, 0.5)
    psd = np.ones((2, freqs.size))
    with pytest.raises(ValueError, match=r"eeg\.features\.bands\.alpha"):
        F.band_power(freqs, psd, {"alpha": [13.0, 8.0]})
    absolute, _ = F.band_power(freqs, psd, {"alpha": [8.0, 13.0]})
    np.testing.assert_allclose(absolute, 5.0)  # flat unit PSD x 5 Hz


# --------------------------------------------------------------------------- fMRI: tiny run
@pytest.fixture(scope="module")
def run3(tmp_path_factory):
    """A simulated run whose third slab (label 3) is zero in every volume (outside the mask)."""
    root = tmp_path_factory.mktemp("deriv")
    run = make_fmriprep_run(root, n_volumes=N_VOL)
    img = nib.load(run["bold"])
    data = np.asarray(img.dataobj, dtype=np.float32)
    data[run["labels"] == 3] = 0.0
    nib.save(nib.Nifti1Image(data, img.affine, img.header), run["bold"])
    atlas = make_atlas(root / "tpl-slab_dseg.nii.gz")
    from neuroflow.fmri.index import build_index

    row = (
        build_index(
            None, [root], strategies=["columns"], atlases={"slab": {"space": SPACE, "path": str(atlas)}}
        )
        .iloc[0]
        .to_dict()
    )
    return run, atlas, row


def _labels_tsv(path: Path, indices) -> Path:
    pd.DataFrame({"index": list(indices), "name": [f"R{i}" for i in indices]}).to_csv(
        path, sep="\t", index=False
    )
    return path


def test_atlas_labels_table_off_by_one_names_both_files(run3, tmp_path):
    _, atlas, row = run3
    labels = _labels_tsv(tmp_path / "slab_dseg.tsv", [0, 1, 2])  # 0-based: image is 1..3
    with pytest.raises(ValueError) as err:
        P.run_parcellate(
            row, "slab", {"space": SPACE, "path": str(atlas), "labels": str(labels)}, tmp_path / "raw.tsv"
        )
    msg = str(err.value)
    assert str(labels) in msg and str(atlas) in msg and "[3]" in msg, msg
    assert not (tmp_path / "raw.tsv").exists()


def test_atlas_labels_table_off_by_one_stops_parsing(run3, tmp_path):
    from neuroflow.fmri.inputs import check_atlas_tables

    _, atlas, _ = run3
    labels = _labels_tsv(tmp_path / "slab_dseg.tsv", [2, 3, 4])
    with pytest.raises(ValueError) as err:
        check_atlas_tables({"slab": {"space": SPACE, "path": str(atlas), "labels": str(labels)}})
    msg = str(err.value)
    assert "fmri.atlases.slab.labels" in msg and str(labels) in msg and str(atlas) in msg, msg
    check_atlas_tables(
        {
            "slab": {
                "space": SPACE,
                "path": str(atlas),
                "labels": str(_labels_tsv(tmp_path / "ok.tsv", [0, 1, 2, 3])),
            }
        }
    )


def test_label_table_check_unit():
    check_label_table([0, 1, 2, 3], {0: "bg", 1: "a", 2: "b", 3: "c"}, "t.tsv", "a.nii")
    with pytest.raises(ValueError, match=r"index\(es\) \[4\] of t\.tsv do not occur in a\.nii"):
        check_label_table([0, 1, 2, 3], {i: "x" for i in range(1, 5)}, "t.tsv", "a.nii")
    # CIFTI: only the series' grayordinates are seen, unused table rows are allowed
    check_label_table([0, 1, 2], {i: "x" for i in range(1, 5)}, "t.tsv", "a.dlabel.nii", all_listed=False)


def test_region_on_zero_voxels_is_nan_listed_and_dropped_by_fc(run3, tmp_path, capsys):
    _, atlas, row = run3
    labels = _labels_tsv(tmp_path / "slab_dseg.tsv", [1, 2, 3])
    raw, regs = tmp_path / "raw_timeseries.tsv", tmp_path / "regressors.tsv"
    P.run_parcellate(row, "slab", {"space": SPACE, "path": str(atlas), "labels": str(labels)}, raw)
    meta = json.loads(raw.with_suffix(".json").read_text())
    assert meta["EmptyRegions"] == ["R3"] and "constant" in meta["EmptyRegionReasons"]["R3"]
    table = pd.read_csv(raw, sep="\t")
    assert table["R3"].isna().all() and table[["R1", "R2"]].notna().all().all()
    assert "empty region" in capsys.readouterr().out
    P.run_confounds(row, "columns", COLUMNS, 0.0, 0.0, regs)
    out = tmp_path / "sub-01_task-rest_run-1_atlas-slab_desc-columns_timeseries.tsv"
    P.run_denoise(raw, regs, "columns", COLUMNS, out)
    dmeta = json.loads(out.with_suffix(".json").read_text())
    assert list(pd.read_csv(out, sep="\t").columns) == ["R1", "R2"]
    assert dmeta["EmptyRegions"] == ["R3"]
    # FC: a second run with all three regions; R3 is dropped from both, and said so
    other = tmp_path / "other_timeseries.tsv"
    rng = np.random.default_rng(1)
    pd.DataFrame(rng.standard_normal((N_VOL, 3)), columns=["R1", "R2", "R3"]).to_csv(
        other, sep="\t", index=False
    )
    other.with_suffix(".json").write_text(json.dumps({"RepetitionTime": 2.0}))
    pd.DataFrame({"sub": ["01", "02"], "path": [out.name, other.name]}).to_csv(
        tmp_path / "runs.tsv", sep="\t", index=False
    )
    runs = read_runs_table(tmp_path / "runs.tsv")
    assert [r.regions for r in runs] == [["R1", "R2"], ["R1", "R2"]]
    assert "R3" in runs[1].notes[0] and "empty in another run" in runs[1].notes[0]
    ds = samples_dataset(runs, window_length=10, window_stride=10)
    assert np.isfinite(ds["timeseries"].values).all()
    assert "R3" in ds.attrs["region_notes"] and "region note" in ds.attrs["title"]


def test_fc_drops_a_constant_zero_column_of_an_old_file(tmp_path):
    rng = np.random.default_rng(2)
    for sub, zero in (("01", True), ("02", False)):
        data = rng.standard_normal((30, 3))
        if zero:
            data[:, 1] = 0.0
        path = tmp_path / f"sub-{sub}_timeseries.tsv"
        pd.DataFrame(data, columns=["A", "B", "C"]).to_csv(path, sep="\t", index=False)
        path.with_suffix(".json").write_text(json.dumps({"RepetitionTime": 1.0}))
    pd.DataFrame({"sub": ["01", "02"], "path": ["sub-01_timeseries.tsv", "sub-02_timeseries.tsv"]}).to_csv(
        tmp_path / "runs.tsv", sep="\t", index=False
    )
    runs = read_runs_table(tmp_path / "runs.tsv")
    assert runs[0].regions == ["A", "C"] and runs[0].data.shape == (30, 2)
    assert "constant (0)" in runs[0].notes[0]


# --------------------------------------------------------------------------- confounds
def _confounds(path: Path, wm, csf) -> Path:
    rng = np.random.default_rng(3)
    table = pd.DataFrame(rng.standard_normal((N_VOL, 2)), columns=["trans_x", "trans_y"])
    table["white_matter"], table["csf"] = wm, csf
    table.to_csv(path, sep="\t", index=False, na_rep="n/a")
    return path


def test_all_zero_wm_csf_regressors_are_an_error_naming_the_file(tmp_path):
    path = _confounds(tmp_path / "sub-01_desc-confounds_timeseries.tsv", 0.0, 0.0)
    with pytest.raises(ValueError) as err:
        strategy_confounds("bold.nii.gz", str(path), "fmriprep", N_VOL, COLUMNS)
    assert str(path) in str(err.value) and "['white_matter', 'csf']" in str(err.value)


def test_constant_regressor_is_dropped_and_recorded(tmp_path):
    rng = np.random.default_rng(4)
    path = _confounds(tmp_path / "c.tsv", rng.standard_normal(N_VOL), 7.0)
    conf = strategy_confounds("bold.nii.gz", str(path), "fmriprep", N_VOL, COLUMNS)
    assert list(conf.regressors.columns) == ["white_matter"]
    assert conf.notes and conf.notes[0].startswith("csf: constant (7)")


# --------------------------------------------------------------------------- group tables
def test_group_qc_keeps_leading_zero_labels(tmp_path):
    stem = "sub-010188_ses-02_task-rest_run-01"
    qc = tmp_path / f"{stem}_desc-qc_bold.tsv"
    pd.DataFrame(
        [
            {
                "stem": stem,
                "sub": "010188",
                "ses": "02",
                "task": "rest",
                "run": "01",
                "space": "",
                "kind": "volume",
                "strategy": "simple",
                "t_r": 2.0,
                "n_volumes": 40,
                "n_kept": 40,
                "fraction_kept": 1.0,
                "excluded": False,
                "exclusion_reason": "",
                "dvars_median_raw": 2.0,
                "dvars_median_clean": 1.0,
            }
        ]
    ).to_csv(qc, sep="\t", index=False)
    ts = tmp_path / f"{stem}_atlas-slab_desc-simple_timeseries.tsv"
    ts.write_text("R1\n0.1\n")
    ts.with_suffix(".json").write_text(
        json.dumps(
            {
                "Atlas": "slab",
                "Strategy": "simple",
                "RepetitionTime": 2.0,
                "RegionNUnits": [3],
                "NVolumesKept": 1,
                "FractionKept": 1.0,
                "Excluded": False,
                "ExclusionReason": "",
                "EmptyRegions": ["R2"],
            }
        )
    )
    out = {k: tmp_path / f"{k}.tsv" for k in ("qc", "excluded", "index")}
    P.run_group([qc], [ts], tmp_path, out["qc"], out["excluded"], out["index"], tmp_path / "qc.png")
    for name in ("qc", "index"):
        back = pd.read_csv(out[name], sep="\t", dtype=str, keep_default_na=False)
        assert back.loc[0, ["sub", "ses", "run"]].tolist() == ["010188", "02", "01"], name
    assert pd.read_csv(out["index"], sep="\t")["n_empty_regions"].tolist() == [1]
    back = P.read_qc_table(out["qc"])
    assert back.loc[0, "sub"] == "010188" and back.loc[0, "t_r"] == 2.0


def test_methods_text_counts_files_with_empty_regions(tmp_path):
    from neuroflow.fmri.methods import methods_text

    group = tmp_path / "group/fmri"
    group.mkdir(parents=True)
    pd.DataFrame({"sub": ["010188", "02"], "n_empty_regions": [2, 0]}).to_csv(
        group / "desc-timeseries_index.tsv", sep="\t", index=False
    )
    cfg = {"results_dir": str(tmp_path), "fmri": {"strategies": {}, "atlases": {}}}
    paras, _ = methods_text(cfg, {})
    assert any("1 run x atlas x strategy files had such empty regions" in p for p in paras)
