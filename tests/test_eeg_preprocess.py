"""Preprocessing steps against MNE called directly, on the real spkit recording and on noise."""

from pathlib import Path

import mne
import numpy as np
import pytest
import yaml

from neuroflow.eeg import features as F
from neuroflow.eeg import ica as ICA
from neuroflow.eeg import preprocess as P
from neuroflow.eeg.devdata import noise_raw, spkit_raw
from neuroflow.eeg.io import EEGInputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def real():
    try:
        return spkit_raw()
    except Exception as exc:
        pytest.fail(f"cannot fetch the spkit EEG pickle: {type(exc).__name__}: {exc}")


def test_filter_matches_mne_filter_called_directly(real):
    ours = P.filter_raw(real.copy(), 1.0, 45.0).get_data()
    direct = mne.filter.filter_data(
        real.get_data(),
        real.info["sfreq"],
        1.0,
        45.0,
        method="fir",
        phase="zero",
        fir_window="hamming",
        fir_design="firwin",
        verbose="error",
    )
    np.testing.assert_allclose(ours, direct, rtol=0, atol=1e-12 * np.abs(direct).max())
    # a low-pass edge at or above Nyquist means high-pass only
    hp = P.filter_raw(real.copy(), 1.0, 64.0).get_data()
    np.testing.assert_allclose(hp, mne.filter.filter_data(real.get_data(), 128.0, 1.0, None, verbose="error"))


def test_notch_attenuates_line_noise_by_30_db():
    raw = noise_raw(sfreq=256.0, duration=20.0, scale=1e-6)
    raw._data += 20e-6 * np.sin(2 * np.pi * 50.0 * raw.times)

    def at50(r):
        psd, f = mne.time_frequency.psd_array_welch(r.get_data(), 256.0, n_fft=512, verbose="error")
        return psd[:, np.argmin(np.abs(f - 50))]

    before = at50(raw)
    assert P.notch_raw(raw, [50.0, 150.0]) == [50.0]  # 150 Hz is above Nyquist - 1
    assert (10 * np.log10(before / at50(raw)) > 30).all()


def test_average_reference_and_named_channels():
    raw = noise_raw()
    P.rereference(raw, "average")
    np.testing.assert_allclose(raw.get_data().mean(axis=0), 0, atol=1e-18)
    raw = noise_raw()
    P.rereference(raw, "channels", ["O1", "O2"])
    np.testing.assert_allclose(raw.get_data(picks=["O1"]), -raw.get_data(picks=["O2"]), atol=1e-18)
    raw = noise_raw()
    direct = raw.copy().set_eeg_reference("REST", forward=P._sphere_forward(raw.info), verbose="error")
    np.testing.assert_allclose(P.rereference(raw, "rest").get_data(), direct.get_data())
    with pytest.raises(EEGInputError, match=r"rec.edf: reference channel\(s\) \['TP9'\]"):
        P.rereference(noise_raw(), "channels", ["TP9"], "rec.edf")


def test_deviation_flags_a_noisy_channel_not_blinky_ones():
    raw = noise_raw(ch_names=("Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2"), duration=20.0)
    data = raw._data
    data[0, 500:540] += 300e-6  # a blink-like burst: sparse, must not flag Fp1
    data[5] *= 20  # a noisy channel
    table = P.detect_bad_channels(raw)
    assert table.loc[table["bad"], "name"].tolist() == ["C4"]
    assert table.set_index("name").loc["C4", "reason"] == "deviation"


def test_events_epoching_uses_annotations():
    raw = noise_raw(duration=20.0)
    raw.set_annotations(mne.Annotations([2.0, 6.0, 10.0], [0.0] * 3, ["go", "stop", "go"]))
    ep = P.make_epochs(raw, "rec", kind="events", event_id={"go": 1}, tmin=-0.2, tmax=0.5)
    assert len(ep) == 2 and list(ep.event_id) == ["go"]
    with pytest.raises(EEGInputError, match="rec: no events matching"):
        P.make_epochs(raw, "rec", kind="events", event_id={"missing": 1})


def test_rejection_drops_artifact_epochs_and_fails_when_none_survive():
    raw = noise_raw(duration=10.0)
    raw._data[2, 300:320] += 500e-6  # inside epoch 1 (2-s epochs at 128 Hz)
    ep = P.make_epochs(raw, "rec")
    log = P.reject_epochs(ep, "rec", peak_to_peak=150.0, flat=0.1)
    assert log["kept"].tolist() == [True, False, True, True, True]
    assert log.loc[1, "drop_reason"] == "peak_to_peak:Cz" and len(ep) == 4
    with pytest.raises(EEGInputError, match="rec: every one of the 5 epochs"):
        P.reject_epochs(P.make_epochs(noise_raw(duration=10.0), "rec"), "rec", peak_to_peak=1.0)


def test_every_step_can_be_switched_off():
    raw = noise_raw(duration=10.0)
    off = {
        s: {"activate": False}
        for s in ("filter", "notch", "resample", "bad_channels", "reference", "ica", "reject")
    }
    res = P.preprocess(raw, off, "rec")
    np.testing.assert_array_equal(res["raw"].get_data(), raw.get_data())
    assert res["ica"] is None and len(res["epochs"]) == 5
    assert [s["step"] for s in res["steps"]] == ["bad_channels", "epochs"]


def test_real_recording_runs_end_to_end(real):
    res = P.preprocess(real, {}, "spkit")
    assert res["raw"].info["sfreq"] == 128.0 and len(res["epochs"]) >= 6
    assert 1 <= len(res["ica"].exclude) <= 2
    assert res["components"]["eog_reference"].str.startswith("proxy AF").all()
    freqs, psd = F.compute_psd(res["epochs"])
    table, _ = F.fit_aperiodic(freqs, psd, res["epochs"].ch_names)
    assert table["exponent"].between(0, 3).all() and (table["r_squared"] > 0.5).all()


def test_iclabel_labels_components_when_installed(real):
    pytest.importorskip("mne_icalabel")
    cfg = {"ica": {"labeling": ["iclabel"], "extended": True, "n_components": 10}}
    res = P.preprocess(real, cfg, "spkit")
    comps = res["components"]
    assert (
        comps["iclabel"]
        .isin(["brain", "muscle artifact", "eye blink", "heart beat", "line noise", "channel noise", "other"])
        .all()
    )
    assert comps["iclabel_probability"].between(0, 1).all()
    with pytest.raises(ValueError, match="extended-infomax"):
        P.preprocess(real, {"ica": {"labeling": ["iclabel"]}}, "spkit")


def _schema_defaults(node):
    if node.get("type") == "object" and "properties" in node:
        return {k: _schema_defaults(v) for k, v in node["properties"].items()}
    return node.get("default")


def test_code_defaults_match_the_config_schema():
    schema = yaml.safe_load((ROOT / "workflow/schemas/eeg.schema.yaml").read_text())
    defaults = _schema_defaults(schema)
    assert defaults["preprocessing"] == P.DEFAULTS
    assert defaults["features"] == F.DEFAULTS
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())["eeg"]
    assert config["preprocessing"] == P.DEFAULTS and config["features"] == F.DEFAULTS


def test_component_variance_equals_mne_explained_variance_ratio(real):
    """The one-pass per-component variance is MNE's get_explained_variance_ratio, component
    by component, also with a bad channel left out of the ICA; copy=False works in place."""
    raw = P.filter_raw(real.copy(), 1.0, 45.0)
    raw.info["bads"] = ["P8"]  # not in the ICA, still in the variance over EEG channels
    ica = ICA.fit_ica(raw, n_components=6)
    ours = ICA._per_component_variance(ica, raw)
    mne_ratio = [
        ica.get_explained_variance_ratio(raw, components=[i], ch_type="eeg")["eeg"]
        for i in range(ica.n_components_)
    ]
    np.testing.assert_allclose(ours, mne_ratio, rtol=0, atol=1e-12)
    assert np.ptp(ours) > 0.01  # distinct components, not one repeated value
    inplace = real.copy()
    res = P.preprocess(inplace, {"ica": {"activate": False}}, "spkit", copy=False)
    assert res["raw"] is inplace and inplace.info["sfreq"] == 128.0
