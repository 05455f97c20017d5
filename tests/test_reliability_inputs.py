"""Input-side silent wrong results (issue 18): each bad input is built here and must give a
clear error naming the file, recording or config key -- or, for good input, the known answer.

Spike trains: binned at the common step from their spike times (no filter, so no negative
rates; ``time`` = bin centres). Recordings too short for the smoothing. Connectome tables cut
inside their last number or at a line boundary, and tables whose labels are all unknown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroflow.activity.homogenize import homogenize_recording
from neuroflow.activity.readers import read_nwb, read_table
from neuroflow.homogenize.labels import build_label_map, load_aliases, load_cell_table
from neuroflow.io.connectomes import ConnectomeFileError, read_durbin_1987, read_white_1986_whole

REPO = Path(__file__).resolve().parents[1]
STEP = 0.333
QUIET = {"smoothing": {"method": "none"}, "normalization": {"method": "none"}}


@pytest.fixture(scope="module")
def label_map():
    return build_label_map(
        load_cell_table(REPO / "resources/celegans/cells.tsv"),
        load_aliases(REPO / "resources/celegans/aliases.tsv"),
    )


@pytest.fixture(scope="module")
def units_nwb(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """NWB units table: a bursty unit (bursts every 2 s) and a sparse one, over 60 s."""
    from pynwb import NWBHDF5IO, NWBFile

    rng = np.random.default_rng(3)
    bursts = np.concatenate([b + np.arange(8) * 0.004 for b in np.arange(0.05, 60, 2.0)])
    sparse = np.sort(rng.uniform(0.0, 60.0, 40))
    trains = [bursts, sparse]
    nwb = NWBFile(
        session_description="spikes",
        identifier="reliability-units",
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
    )
    for train in trains:
        nwb.add_unit(spike_times=train)
    path = tmp_path_factory.mktemp("units") / "units.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path, trains


def test_spikes_binned_at_the_step_are_never_negative_and_keep_bin_centres(units_nwb, label_map):
    path, trains = units_nwb
    rec = read_nwb(path, series="units", bin_s=STEP)
    ds = homogenize_recording(rec, label_map, recording_id="units", step_s=STEP, min_samples=10, **QUIET)
    rates = ds["resampled"].values
    assert (rates >= 0).all()  # the filter gave -9.5 spikes/s
    edges = np.arange(ds.sizes["time"] + 1) * STEP  # spikes start at 0.05 s: t0 = 0
    for j, train in enumerate(trains):
        expected = np.histogram(train, bins=edges)[0] / STEP
        np.testing.assert_allclose(rates[:, j], expected, rtol=1e-6)
    np.testing.assert_allclose(ds["time"].values[:2], [0.1665, 0.4995])  # bin centres
    assert ds["time"].attrs["long_name"].startswith("bin centre")
    assert "no filter" in ds.attrs["resampling"]


def test_spikes_binned_at_another_step_are_refused_naming_the_key(units_nwb, label_map):
    path, _ = units_nwb
    rec = read_nwb(path, series="units", bin_s=0.1)
    with pytest.raises(ValueError, match=r"units\.nwb.*activity\.step_s"):
        homogenize_recording(rec, label_map, recording_id="units", step_s=STEP, min_samples=10, **QUIET)


def test_spike_rate_table_at_another_step_is_refused_naming_the_file(tmp_path, label_map):
    path = tmp_path / "rates.tsv"
    t = np.arange(1200) * 0.1
    pd.DataFrame({"time": t, "u1": (np.arange(1200) % 7 == 0) * 10.0}).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"rates\.tsv.*activity\.step_s"):
        homogenize_recording(
            read_table(path, units="spikes/s"), label_map, recording_id="rates", step_s=STEP, **QUIET
        )


def test_units_bin_width_other_than_the_step_fails_at_parse_time(units_nwb):
    from neuroflow.activity.pipeline import check_activity_config
    from neuroflow.config import ConfigError

    path, _ = units_nwb
    config = {
        "activity": {
            "step_s": STEP,
            "recordings": {
                "u1": {
                    "reader": "nwb",
                    "paths": [str(path)],
                    "reader_options": {"series": "units", "bin_s": 0.1},
                }
            },
        },
        "connectome": {"sources": {}},
        "resources": {"manifest": "m.yaml"},
    }
    with pytest.raises(ConfigError, match=r"activity\.recordings\.u1\.reader_options\.bin_s"):
        check_activity_config(config, {"datasets": {}})
    config["activity"]["recordings"]["u1"]["reader_options"]["bin_s"] = STEP
    check_activity_config(config, {"datasets": {}})


@pytest.mark.parametrize(
    ("smoothing", "key"),
    [
        ({"method": "moving", "window_s": 2.664}, "activity.smoothing.window_s"),  # 13 %
        ({"method": "gaussian", "sigma_s": 1.0}, "activity.smoothing.sigma_s"),
    ],
)
def test_recording_too_short_for_the_smoothing_fails_naming_it_and_the_key(
    tmp_path, label_map, smoothing, key
):
    path = tmp_path / "short20.tsv"  # 600 samples at 30 Hz = 20 s
    t = np.arange(600) / 30.0
    pd.DataFrame({"time": t, "AVAL": 10 + np.sin(t)}).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match=rf"short20.*short20\.tsv.*{key.replace('.', '[.]')}"):
        homogenize_recording(read_table(path), label_map, recording_id="short20", smoothing=smoothing)
    ok = homogenize_recording(
        read_table(path), label_map, recording_id="short20", smoothing={"method": "moving", "window_s": 0.666}
    )  # 3.3 %
    assert ok.sizes["time"] == 60  # floor(19.967 s / 0.333 s) + 1


# ----------------------------------------------------------------------- connectome tables
WHITE_ROWS = "pre\tpost\ttype\tsynapses\nADAL\tAIBL\tchemical\t3\nAVAL\tAVAR\telectrical\t10"


def test_table_cut_inside_its_last_number_fails_naming_the_file(tmp_path):
    cut = tmp_path / "my_white.csv"
    cut.write_text(WHITE_ROWS[:-1])  # "10" -> "1", no final newline
    with pytest.raises(ConnectomeFileError, match=r"my_white\.csv \(line 3\).*line break"):
        read_white_1986_whole(cut)
    whole = tmp_path / "whole.csv"
    whole.write_text(WHITE_ROWS + "\n")
    df = read_white_1986_whole(whole)
    assert df.loc[df.synapse_type == "electrical", "weight"].tolist() == [10.0]


def test_table_cut_at_a_line_boundary_fails_against_the_expected_rows(tmp_path):
    cut = tmp_path / "half.csv"
    cut.write_text(WHITE_ROWS.rsplit("\n", 1)[0] + "\n")  # the last whole row is lost
    with pytest.raises(ConnectomeFileError, match=r"half\.csv.*1 data rows read, expected 2"):
        read_white_1986_whole(cut, expected_rows=2)
    from neuroflow.homogenize.pipeline import homogenize_source_files

    out_nc, out_tsv = tmp_path / "half.nc", tmp_path / "half_unmapped.tsv"
    with pytest.raises(ConnectomeFileError, match=r"half\.csv.*expected 2"):  # manifest 'rows'
        homogenize_source_files(
            [cut],
            source_id="half",
            reader="white_1986_whole",
            reader_options={},
            cell_table=REPO / "resources/celegans/cells.tsv",
            aliases=REPO / "resources/celegans/aliases.tsv",
            exclude=["CANL", "CANR"],
            gap_reduce="mean",
            citation="",
            label="half",
            out_nc=out_nc,
            out_unmapped=out_tsv,
            expected_rows=[2],
        )
    assert not out_nc.exists() and not out_tsv.exists()  # nothing partial written
    durbin = tmp_path / "neurodata.txt"
    durbin.write_text("ADAL\tAIBL\tSend\tN2U\t2\n")
    with pytest.raises(ConnectomeFileError, match=r"neurodata\.txt.*expected 2"):
        read_durbin_1987(durbin, expected_rows=2)


def test_manifest_row_counts_match_the_published_tables(cect_data):
    from neuroflow.resources import load_manifest

    manifest = load_manifest(REPO / "resources/datasets.yaml")
    rows = {
        ds: manifest["datasets"][ds]["files"][0]["rows"] for ds in ("white_1986_whole", "durbin_1987_n2u")
    }
    white = read_white_1986_whole(
        cect_data / "aconnectome_white_1986_whole.csv", expected_rows=rows["white_1986_whole"]
    )
    assert any("published" in n for n in white.attrs["notes"])  # no final newline, but known
    read_durbin_1987(cect_data / "neurodata.txt", expected_rows=rows["durbin_1987_n2u"])


def test_source_whose_labels_are_all_unknown_fails_naming_the_file(tmp_path, label_map):
    from neuroflow.homogenize.connectome import homogenize_source

    table = tmp_path / "renamed.csv"
    table.write_text("pre\tpost\ttype\tsynapses\nN001\tN002\tchemical\t3\nN002\tN003\telectrical\t1\n")
    edges = read_white_1986_whole(table)
    with pytest.raises(ValueError, match=r"renamed\.csv.*'mine'.*no edge joins two canonical"):
        homogenize_source(edges, label_map, "mine")


def test_a_data_file_changed_after_download_stops_the_run_naming_it(tmp_path):
    """Issue 18, item 3: extracted files are re-verified before each run that reads them
    (size + mtime stamps; sha256 again when they changed)."""
    import hashlib

    from neuroflow.resources import STAMPS, check_materialized

    dest = tmp_path / "data"
    good = b"pre\tpost\n"
    manifest = {
        "_path": "m.yaml",
        "local": {},
        "distributions": {"pkg": {"version": "1.0"}},
        "datasets": {
            "ds": {
                "distribution": "pkg",
                "files": [{"path": "data/table.tsv", "sha256": hashlib.sha256(good).hexdigest()}],
            }
        },
    }
    path = dest / "pkg-1.0/data/table.tsv"
    path.parent.mkdir(parents=True)
    path.write_bytes(good)
    assert check_materialized(manifest, ["ds"], dest) == []
    assert (dest / STAMPS).is_file()  # stamped: the next check is a stat
    path.write_bytes(b"pre\tpost\nADAL\tAIBL\n")  # edited after download
    problems = check_materialized(manifest, ["ds"], dest)
    assert len(problems) == 1 and str(path) in problems[0] and "dataset ds" in problems[0]
    assert check_materialized(manifest, ["ds"], dest)  # still reported on the next run
    path.write_bytes(good)
    assert check_materialized(manifest, ["ds"], dest) == []
