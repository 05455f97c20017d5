"""Reading EEG as users have it, montages, the embedded spkit recording, and bad inputs."""

import json
import pickle

import numpy as np
import pytest

from neuroflow.eeg import io
from neuroflow.eeg.devdata import fetch_spkit_pickle, noise_raw, write_recording
from neuroflow.eeg.inputs import CohortError, eeg_recordings, recording_spec
from neuroflow.eeg.pipeline import convert_embedded, preprocess_recording, read_recording


def _file(path, **extra):
    return recording_spec("file", {"sub": "a", "task": "rest"}, path=str(path), **extra)


@pytest.fixture(scope="module")
def spkit_pickle():
    try:
        return fetch_spkit_pickle()
    except Exception as exc:  # no network, checksum mismatch
        pytest.fail(f"cannot fetch the spkit EEG pickle: {type(exc).__name__}: {exc}")


def test_spkit_pickle_is_read_with_numpy_only_unpickler(spkit_pickle):
    data = io.load_spkit_pickle(spkit_pickle)
    assert data["fs"] == 128
    assert data["ch_names"] == [
        "AF3",
        "F7",
        "F3",
        "FC5",
        "T7",
        "P7",
        "O1",
        "O2",
        "P8",
        "T8",
        "FC6",
        "F4",
        "F8",
        "AF4",
    ]
    for key in ("X_raw", "X_fil", "X_ica", "X_atar_soft", "X_atar_elim"):
        assert data[key].shape == (2048, 14) and data[key].dtype == np.float64


def test_restricted_unpickler_refuses_other_globals(tmp_path):
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(
        pickle.dumps({"X_raw": np.zeros((2, 2)), "fs": 1, "ch_names": ["a", "b"], "hook": print})
    )
    with pytest.raises(io.EEGInputError, match="evil.pkl.*builtins.print"):
        io.load_spkit_pickle(evil)


def test_spkit_conversion_keeps_the_signal_in_volts(spkit_pickle, tmp_path):
    out = {k: tmp_path / f"sub-x_task-rest_{k}" for k in ("eeg.fif", "desc-ref_eeg.fif", "eeg.json")}
    convert_embedded(
        spkit_pickle,
        out["eeg.fif"],
        out["desc-ref_eeg.fif"],
        out["eeg.json"],
        subject="x",
        task="rest",
        montage="colin27_1020",
        dataset_id="spkit",
        citation="c",
    )
    data = io.load_spkit_pickle(spkit_pickle)
    raw = io.read_recording(out["eeg.fif"])
    np.testing.assert_allclose(raw.get_data(), data["X_raw"].T * 1e-6, rtol=1e-6, atol=1e-12)
    ref = io.read_recording(out["desc-ref_eeg.fif"])
    np.testing.assert_allclose(ref.get_data(), data["X_ica"].T * 1e-6, rtol=1e-6, atol=1e-12)
    side = json.loads(out["eeg.json"].read_text())
    assert side["SamplingFrequency"] == 128.0 and side["Simulated"] is False
    assert side["Sources"][0]["sha256"] == io_sha(spkit_pickle)
    assert np.abs(raw.info["chs"][0]["loc"][:3]).sum() > 0  # positions stored


def io_sha(path):
    from neuroflow.resources import sha256_file

    return sha256_file(path)


@pytest.mark.parametrize(
    "ext, module",
    [(".edf", "edfio"), (".bdf", "edfio"), (".vhdr", "pybv"), (".set", "eeglabio"), (".fif", None)],
)
def test_every_format_reads_back_the_same_signal(tmp_path, ext, module):
    if module:
        pytest.importorskip(module)
    raw = noise_raw()
    path = write_recording(raw, tmp_path / f"sub-a_task-rest_eeg{ext}")
    got = io.read_recording(path)
    assert got.ch_names == raw.ch_names and got.info["sfreq"] == raw.info["sfreq"]
    # EDF stores 16-bit integers; BDF 24-bit; the others floats
    tol = {".edf": 2e-3, ".bdf": 1e-5}.get(ext, 1e-6) * np.abs(raw.get_data()).max()
    np.testing.assert_allclose(got.get_data(), raw.get_data(), atol=tol)


def test_bids_dataset_is_read_with_mne_bids(tmp_path):
    pytest.importorskip("pybv")
    import mne_bids

    root = tmp_path / "bids"
    for sub in ("01", "02"):
        raw = noise_raw(seed=int(sub))
        raw.info["line_freq"] = 50.0
        bp = mne_bids.BIDSPath(subject=sub, task="rest", root=root, datatype="eeg")
        mne_bids.write_raw_bids(raw, bp, allow_preload=True, format="BrainVision", verbose="error")
    recs = eeg_recordings(
        {"bids_dir": str(root), "eeg": {"embedded": {"activate": False}, "simulate": {"n_subjects": 0}}}
    )
    assert list(recs) == ["sub-01_task-rest", "sub-02_task-rest"]
    got, path = read_recording(recs["sub-02_task-rest"], [], montage="colin27_1020", on_missing="raise")
    assert path.name == "sub-02_task-rest_eeg.vhdr"
    np.testing.assert_allclose(got.get_data(), noise_raw(seed=2).get_data(), atol=1e-7)


def test_truncated_edf_error_names_the_file(tmp_path):
    pytest.importorskip("edfio")
    path = write_recording(noise_raw(), tmp_path / "sub-a_task-rest_eeg.edf")
    path.write_bytes(path.read_bytes()[:-2000])
    with pytest.raises(io.EEGInputError, match=f"{path}: truncated EDF"):
        io.read_recording(path)


def test_sidecar_sampling_rate_mismatch_names_both_files(tmp_path):
    path = write_recording(noise_raw(), tmp_path / "sub-a_task-rest_eeg.fif")
    side = tmp_path / "sub-a_task-rest_eeg.json"
    side.write_text(json.dumps({"SamplingFrequency": 256}))
    with pytest.raises(io.EEGInputError, match="sampling rate mismatch") as err:
        read_recording(_file(path), [path], montage="colin27_1020", on_missing="raise")
    assert str(path) in str(err.value) and str(side) in str(err.value)
    assert "128 Hz" in str(err.value) and "256 Hz" in str(err.value)


def test_unknown_channel_names_for_montage_are_listed(tmp_path):
    raw = noise_raw(ch_names=("Fp1", "Cz", "E7", "Ch12"))
    path = write_recording(raw, tmp_path / "rec_eeg.fif")
    with pytest.raises(
        io.EEGInputError,
        match=r"rec_eeg.fif: 2 EEG channel name\(s\) unknown "
        r"to montage 'colin27_1020': \['E7', 'Ch12'\]",
    ):
        read_recording(_file(path), [path], montage="colin27_1020", on_missing="raise")
    got, _ = read_recording(
        _file(path, rename={"E7": "Pz"}), [path], montage="colin27_1020", on_missing="drop"
    )
    assert got.ch_names == ["Fp1", "Cz", "Pz"]


def test_recording_shorter_than_one_epoch_names_the_file(tmp_path):
    path = write_recording(noise_raw(duration=1.5), tmp_path / "short_eeg.fif")
    out = {k: tmp_path / f"o_{k}" for k in ("filtered_eeg.fif", "clean_eeg.fif", "epo.fif")}
    with pytest.raises(io.EEGInputError, match=f"{path}: recording is shorter than one epoch"):
        preprocess_recording(
            _file(path),
            [path],
            montage="colin27_1020",
            on_missing="raise",
            cfg={"ica": {"activate": False}},
            out={
                "filtered": out["filtered_eeg.fif"],
                "clean": out["clean_eeg.fif"],
                "epochs": out["epo.fif"],
            },
        )
    assert not any(p.exists() for p in out.values())  # nothing partial written


def test_montage_from_file_and_by_legacy_name(tmp_path):
    import mne

    raw = noise_raw()
    pos = io.load_montage("colin27_1020", "x").get_positions()["ch_pos"]
    sfp = tmp_path / "cap.sfp"
    sfp.write_text("".join(f"{c}\t{pos[c][0]:.5f}\t{pos[c][1]:.5f}\t{pos[c][2]:.5f}\n" for c in raw.ch_names))
    direct = raw.copy().set_montage(mne.channels.read_custom_montage(sfp), verbose="error")
    ours = raw.copy()
    io.apply_montage(ours, str(sfp), "rec.fif")
    for a, b in zip(ours.info["chs"], direct.info["chs"]):
        np.testing.assert_allclose(a["loc"][:3], b["loc"][:3])
    legacy, new = raw.copy(), raw.copy()
    io.apply_montage(legacy, "standard_1020", "rec.fif")
    io.apply_montage(new, "colin27_1020", "rec.fif")
    for a, b in zip(legacy.info["chs"], new.info["chs"]):
        np.testing.assert_allclose(a["loc"][:3], b["loc"][:3])
    with pytest.raises(io.EEGInputError, match="neither a built-in MNE montage"):
        io.apply_montage(raw.copy(), "no_such_cap", "rec.fif")


def test_cohort_lists_embedded_simulated_and_user_recordings():
    recs = eeg_recordings(
        {
            "eeg": {
                "embedded": {"subject": "phyaat"},
                "simulate": {"n_subjects": 2},
                "subjects": {"p01": {"path": "x.edf"}},
            }
        }
    )
    assert list(recs) == [
        "sub-phyaat_task-rest",
        "sub-sim01_task-rest",
        "sub-sim02_task-rest",
        "sub-p01_task-rest",
    ]
    assert recs["sub-sim02_task-rest"]["simulated"] and not recs["sub-phyaat_task-rest"]["simulated"]
    assert recs["sub-p01_task-rest"]["folder"] == "sub-p01/eeg"
    with pytest.raises(CohortError, match="sim01.*defined twice"):
        eeg_recordings({"eeg": {"simulate": {"n_subjects": 1}, "subjects": {"sim01": {"path": "x.edf"}}}})


def test_derivative_channels_tsv_has_bids_units_column(tmp_path):
    """The EEG stage's ``_channels.tsv`` carries BIDS' required name, type, units (as MNE holds
    the data: V, or with the unit multiplier µV) and passes the BIDS column check."""
    import mne
    import pandas as pd

    from neuroflow.eeg.inputs import check_channels_tsv
    from neuroflow.eeg.preprocess import detect_bad_channels

    rng = np.random.default_rng(0)
    info = mne.create_info(["Fz", "Cz", "Pz", "EOG1", "STI"], 100.0, ["eeg", "eeg", "eeg", "eog", "stim"])
    data = rng.normal(0, 10e-6, (5, 500))
    data[1] = 0.0  # a dead channel
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.info["chs"][2]["unit_mul"] = -6  # a channel held in microvolts
    qc = detect_bad_channels(raw, ["flat"])
    table = io.bids_channels_table(qc, raw.info)
    assert list(table.columns[:4]) == ["name", "type", "units", "status"]
    assert table["name"].tolist() == ["Fz", "Cz", "Pz"]  # the EEG channels the QC covers
    assert table["units"].tolist() == ["V", "V", "µV"]
    assert table["type"].tolist() == ["EEG"] * 3
    assert table["status"].tolist() == ["good", "bad", "good"]
    assert set(table.columns) <= set(io.CHANNELS_TSV_COLUMNS)
    raw.info["chs"][4]["unit"] = mne.io.constants.FIFF.FIFF_UNIT_NONE
    assert io.channel_units(raw.info, ["EOG1", "STI"]) == ["V", "n/a"]
    path = tmp_path / "sub-a_task-rest_channels.tsv"
    table.to_csv(path, sep="\t", index=False)
    check_channels_tsv(path)
    assert pd.read_csv(path, sep="\t")["units"].tolist() == ["V", "V", "µV"]
    with pytest.raises(ValueError, match="'Oz' is not in the recording"):
        io.bids_channels_table(pd.DataFrame({"name": ["Oz"], "bad": [False]}), raw.info)
