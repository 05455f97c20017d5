"""Feature extractors, FIR designs and data readers of the encoding stage (known answers)."""

from pathlib import Path

import numpy as np
import pytest

from neuroflow.encoding import data, features
from neuroflow.encoding.inputs import reader_defaults

FILES = reader_defaults("files")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def grasshopper_files():
    from neuroflow.resources import fetch_dataset, load_manifest

    manifest = load_manifest(REPO / "resources" / "datasets.yaml")
    try:
        return [str(p) for p in fetch_dataset(manifest, "nitime_grasshopper", REPO / "resources" / "data")]
    except Exception as exc:  # no network, checksum mismatch, ...
        pytest.fail(f"cannot fetch nitime_grasshopper: {type(exc).__name__}: {exc}")


def test_fir_design_shifts_within_runs_and_never_across_them():
    X = np.arange(1, 7, dtype=float)[:, None]
    runs = np.array([0, 0, 0, 1, 1, 1])
    design, names = features.fir_design(X, [0, 1, -1], runs, ["s"])
    assert names == ["s@lag0", "s@lag1", "s@lag-1"]
    np.testing.assert_array_equal(design[:, 1], [0, 1, 2, 0, 4, 5])  # stimulus 1 back
    np.testing.assert_array_equal(design[:, 2], [2, 3, 0, 5, 6, 0])  # 1 ahead
    with pytest.raises(ValueError, match="distinct"):
        features.fir_design(X, [1, 1])


def test_envelope_level_is_anchored_to_the_peak_and_onsets_are_rectified():
    fs, bin_s = 1000.0, 0.01
    amp = np.r_[np.full(500, 0.1), np.full(500, 1.0)]  # a 20 dB step at 0.5 s
    feats, names = features.envelope_features(amp, fs, bin_s, peak_db=80.0)
    assert names == ["level", "onset"] and feats.shape == (100, 2)
    assert feats[:50, 0] == pytest.approx(60.0) and feats[50:, 0] == pytest.approx(80.0)
    assert feats[:, 1].min() == 0 and feats[:, 1].argmax() in (49, 50)
    with pytest.raises(ValueError, match="whole number of samples"):
        features.envelope_features(amp, fs, 0.0015)


def test_spectrogram_band_of_a_pure_tone_is_the_loudest():
    fs = 16000.0
    t = np.arange(int(fs)) / fs
    feats, names = features.spectrotemporal_features(
        np.sin(2 * np.pi * 2000 * t), fs, 0.01, n_bands=6, fmin=200, fmax=8000
    )
    band = int(np.argmax(feats.mean(axis=0)))
    lo, hi = (float(v) for v in names[band].rstrip("Hz").split("-"))
    assert feats.shape == (100, 6) and lo <= 2000 <= hi


def test_angular_basis_peaks_at_its_centre_and_zeroes_untracked_samples():
    angles = np.array([0.0, np.pi / 2, np.nan])
    basis, names = features.angular_basis(angles, n_basis=4, kind="vonmises", kappa=4)
    assert names[1] == "vm90deg" and basis[1].argmax() == 1 and basis[0, 0] == 1.0
    assert (basis[2] == 0).all()
    four, _ = features.angular_basis(angles[:2], n_basis=4, kind="fourier")
    np.testing.assert_allclose(four[1], [0, 1, -1, 0], atol=1e-12)
    with pytest.raises(ValueError, match="even"):
        features.angular_basis(angles, n_basis=3, kind="fourier")


def test_onehot_names_a_missing_category():
    labels = ["rest", "face", "house", "face"]
    np.testing.assert_array_equal(features.category_onehot(labels, ["face"])[:, 0], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="'cat'"):
        features.category_onehot(labels, ["face", "cat"])


def test_feature_file_errors_name_the_file(tmp_path):
    good = tmp_path / "act.npy"
    np.save(good, np.ones((5, 3)))
    assert features.load_feature_file(good).shape == (5, 3)
    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="objects.npy"):
        features.load_feature_file(pickled)
    bad = tmp_path / "nan.npy"
    np.save(bad, np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="nan.npy: 1 non-finite"):
        features.load_feature_file(bad)
    with pytest.raises(ValueError, match="expected 2 or 4 dimensions"):
        np.save(tmp_path / "three.npy", np.ones((2, 2, 2)))
        features.load_feature_file(tmp_path / "three.npy")


def test_grasshopper_design_keeps_every_spike_and_the_header_level(grasshopper_files):
    ds = data.grasshopper_design(
        grasshopper_files[0::2], grasshopper_files[1::2], **{**reader_defaults("grasshopper"), "bin_s": 0.005}
    )
    assert ds.sizes == {"time": 4000, "feature": 2, "target": 1}
    counts = ds["responses"].values[:, 0] * 0.005
    assert counts.sum() == 929 + 868  # spikes in the two files
    run = ds["run"].values
    level = ds["features"].sel(feature="level").values
    for i, peak_db in ((0, 76.4286), (1, 71.2)):  # 'intensity (dB)' of each header
        amp, fs, _, peak = data.read_grasshopper_pair(*grasshopper_files[2 * i : 2 * i + 2])
        assert fs == 20000.0 and peak == peak_db
        raw, _ = features.envelope_features(amp, fs, 1 / fs, peak_db=peak)
        assert raw[:, 0].max() == pytest.approx(peak_db)
        np.testing.assert_allclose(level[run == f"stimulus{i + 1}"], raw[:, 0].reshape(-1, 100).mean(axis=1))
    assert sorted(set(ds["block"].values)) == list(range(10))


def test_grasshopper_reader_names_a_malformed_file(tmp_path, grasshopper_files):
    bad = tmp_path / "stimulus.txt"
    bad.write_text("0 1 2\n50 1 2\n" * 60)
    with pytest.raises(ValueError, match="stimulus.txt: expected two columns"):
        data.read_grasshopper_pair(bad, grasshopper_files[1])
    with pytest.raises(ValueError, match="not found"):
        data.read_grasshopper_pair(tmp_path / "missing.txt", grasshopper_files[1])


def test_files_design_checks_lengths_and_bands(tmp_path):
    np.save(tmp_path / "f.npy", np.random.default_rng(0).standard_normal((20, 4)))
    np.save(tmp_path / "y.npy", np.zeros((19, 2)))
    with pytest.raises(ValueError, match="f.npy has 20 rows but response file"):
        data.files_design(tmp_path / "f.npy", tmp_path / "y.npy", **FILES)
    np.save(tmp_path / "y.npy", np.zeros((20, 2)))
    ds = data.files_design(
        tmp_path / "f.npy",
        tmp_path / "y.npy",
        **{**FILES, "band_sizes": [1, 3], "band_names": ["low", "high"], "n_blocks": 4},
    )
    assert list(ds["band"].values) == ["low", "high", "high", "high"]
    assert sorted(set(ds["block"].values)) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="do not add up"):
        data.files_design(tmp_path / "f.npy", tmp_path / "y.npy", **{**FILES, "band_sizes": [2]})


def _fetch(dataset_id):
    from neuroflow.resources import fetch_dataset, load_manifest

    manifest = load_manifest(REPO / "resources" / "datasets.yaml")
    try:
        return [str(p) for p in fetch_dataset(manifest, dataset_id, REPO / "resources" / "data")]
    except Exception as exc:  # no network, checksum mismatch, ...
        pytest.fail(f"cannot fetch {dataset_id}: {type(exc).__name__}: {exc}")


@pytest.fixture(scope="module")
def a2929(tmp_path_factory):
    """(NWB file, the activity stage's units file of it) for the A2929 recording."""
    from neuroflow.activity.pipeline import counts_file

    nwb = _fetch("pynapple_a2929_neurosuite")[0]
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
    return nwb, out / "u.nc"


def _headdirection_read_from_nwb(nwb, epoch):
    """Reference: what the encoding stage read straight from the NWB file with pynwb before
    the activity stage's units file existed."""
    import pynwb

    with pynwb.NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        series = f.acquisition["CompassDirection"].spatial_series["ry"]
        t = np.asarray(series.timestamps[:], dtype=float)
        angle = np.asarray(series.data[:], dtype=float).reshape(len(t), -1)[:, 0]
        ep = f.epochs.to_dataframe()
        units = f.units.to_dataframe()
    ep = ep[[epoch in list(tags) for tags in ep["tags"]]]
    start, stop = float(ep["start_time"].min()), float(ep["stop_time"].max())
    keep = (t >= start) & (t < stop)
    return (
        t[keep],
        np.mod(angle[keep], 2 * np.pi),
        [np.asarray(s, dtype=float) for s in units["spike_times"]],
        units,
        (start, stop),
    )


@pytest.mark.parametrize("epoch", ["wake", "sleep"])
def test_head_direction_read_from_the_units_file_equals_the_nwb_reading(a2929, epoch):
    nwb, units_nc = a2929
    t, angle, spikes, units, span = data.read_headdirection(units_nc, epoch)
    ref = _headdirection_read_from_nwb(nwb, epoch)
    np.testing.assert_array_equal(t, ref[0])
    np.testing.assert_array_equal(angle, ref[1])
    assert len(spikes) == len(ref[2]) == 15
    for got, want in zip(spikes, ref[2]):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(units.index.to_numpy(), ref[3].index.to_numpy())
    assert list(units["location"]) == list(ref[3]["location"].astype(str))
    assert span == ref[4]


def test_head_direction_tuning_predicts_thalamic_units_better_than_ca1(a2929):
    from threadpoolctl import threadpool_limits

    from neuroflow.encoding.ridge import cross_validated_fit

    ds = data.headdirection_design(
        a2929[1], **{**reader_defaults("headdirection"), "bin_s": 0.5, "n_blocks": 6}
    )
    location = ds["location"].values
    assert ds.sizes["target"] == 15 and (location == "adn").sum() == 7
    angle = ds["head_angle"].values
    assert np.all((angle >= 0) & (angle < 2 * np.pi))
    with threadpool_limits(1):
        fit = cross_validated_fit(
            ds["features"].values,
            ds["responses"].values,
            ds["block"].values,
            model="ridge",
            n_folds=3,
            n_inner_folds=2,
            alphas=np.logspace(-1, 5, 7),
        )
    r = np.nanmean(fit["r"], axis=0)
    assert r[location == "adn"].min() > 0.5 > r[location == "ca1"].max()


def test_haxby_design_is_zscored_per_run_and_category_selective_voxels_repeat():
    from neuroflow.encoding.ridge import condition_means, noise_ceiling

    ds = data.haxby_design(*_fetch("haxby2001_sub1"), **reader_defaults("haxby"))
    assert ds.sizes == {"time": 1452, "feature": 8, "target": 530}
    assert "rest" not in ds["feature"].values and ds["features"].values.sum() == 864
    Y, runs = ds["responses"].values, ds["run"].values
    for r in np.unique(runs):
        np.testing.assert_allclose(Y[runs == r].mean(axis=0), 0, atol=1e-9)
    means, names, reps = condition_means(Y, ds["condition"].values, runs, delay=2, skip=["rest"])
    assert means.shape == (12, 8, 530) and len(names) == 8
    nc = noise_ceiling(means)
    assert np.nanmax(nc) > 0.5 and np.nanmedian(nc) < 0.2


@pytest.mark.parametrize(
    "edit, needle",
    [
        ({"dataset": "pynapple_a2929_neurosuite"}, r"headdirection.dataset: moved: .*activity"),
        ({"paths": ["a.nwb"]}, r"headdirection.paths: moved"),
        (
            {"recording": "A2929", "options": {"angle_series": "ry"}},
            r"headdirection.options.angle_series: moved: .*activity.spikes.<id>.angle_series",
        ),
        ({}, r"headdirection.recording: not set"),
    ],
)
def test_headdirection_experiment_old_keys_say_where_they_moved(edit, needle):
    from neuroflow.encoding.inputs import experiment_config

    section = {"experiments": {"headdirection": {"reader": "headdirection", **edit}}}
    with pytest.raises(ValueError, match=f"config key encoding.experiments.{needle}"):
        experiment_config(section, "headdirection")
    ok = {"experiments": {"headdirection": {"reader": "headdirection", "recording": "A2929"}}}
    assert experiment_config(ok, "headdirection")["recording"] == "A2929"
