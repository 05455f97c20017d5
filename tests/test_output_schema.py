"""The one output stamp: simulated encoding, NetCDF attribute schema, BIDS tabular sidecars.

Unit tests of :mod:`neuroflow.output_schema` and the writers/reader of
:mod:`neuroflow.provenance`; the workflow tests walk every output of their demo runs with
:func:`check_output_tree` (``assert_outputs_follow_schema`` below).
"""

import json

import numpy as np
import pandas as pd
import pint
import pytest
import xarray as xr

from neuroflow.output_schema import (
    CONVENTIONS,
    OutputSchemaError,
    check_output_tree,
    is_simulated,
    recorded_units,
    stamp,
)
from neuroflow.provenance import read_netcdf, write_netcdf, write_tsv

UNITS = pint.UnitRegistry()


def assert_outputs_follow_schema(root) -> None:
    """Every output under ``root`` follows the output schema; units parse with pint."""
    problems = check_output_tree(root, parse_units=UNITS.parse_units)
    assert not problems, f"{len(problems)} output-schema problems:\n" + "\n".join(problems[:40])


def _dataset():
    return xr.Dataset(
        {"rate": (("time",), np.arange(3.0), {"long_name": "firing rate", "units": "count/s"})},
        coords={
            "time": ("time", [0.0, 0.5, 1.0], {"long_name": "bin centre", "units": "s"}),
            "label": ("time", ["a", "b", "c"], {"long_name": "bin label"}),
        },
    )


def test_write_netcdf_stamps_the_schema_and_read_netcdf_reads_it_back(tmp_path):
    path = tmp_path / "x.nc"
    write_netcdf(_dataset(), path, simulated=True, sources=[tmp_path / "in.tsv"])
    ds = read_netcdf(path)
    assert ds.attrs["Conventions"] == CONVENTIONS
    assert ds.attrs["simulated"] == 1 and ds.attrs["simulated"].dtype == np.int8
    assert is_simulated(ds.attrs, path) is True
    assert "neuroflow" in json.loads(ds.attrs["software_versions"])
    assert ds.attrs["history"].startswith("neuroflow ") and "test_write_netcdf" in ds.attrs["history"]
    assert json.loads(ds.attrs["sources"]) == ["in.tsv"]
    assert ds["label"].attrs["units"] == "1"  # text labels
    assert not check_output_tree(tmp_path, parse_units=UNITS.parse_units)


def test_same_data_give_byte_identical_files(tmp_path):
    for name in ("a.nc", "b.nc"):
        write_netcdf(_dataset(), tmp_path / name, simulated=False)
    assert (tmp_path / "a.nc").read_bytes() == (tmp_path / "b.nc").read_bytes()


def test_a_variable_without_units_raises_naming_it_and_the_file(tmp_path):
    ds = _dataset()
    ds["power"] = ("time", np.ones(3), {"long_name": "band power"})
    with pytest.raises(OutputSchemaError, match=r"x\.nc.*'power' has no 'units'"):
        write_netcdf(ds, tmp_path / "x.nc", simulated=False)
    assert not (tmp_path / "x.nc").exists()
    ds["power"].attrs["units"] = "1 (per-source normalized)"
    with pytest.raises(OutputSchemaError, match="'power' has units '1 \\(per-source"):
        write_netcdf(ds, tmp_path / "x.nc", simulated=False)
    write_netcdf(ds, tmp_path / "x.nc", simulated=False, variables={"power": ("band power", "V**2/Hz")})
    assert read_netcdf(tmp_path / "x.nc")["power"].attrs["units"] == "V**2/Hz"


def test_a_coordinate_without_long_name_raises(tmp_path):
    ds = _dataset().assign_coords(channel=("time", [1, 2, 3]))
    with pytest.raises(OutputSchemaError, match="'channel' has no 'long_name'"):
        write_netcdf(ds, tmp_path / "x.nc", simulated=False)


@pytest.mark.parametrize(
    "value", ["no (real recording)", "true", "false", "yes", 2, 1.0, True, np.array([0.0])]
)
def test_is_simulated_rejects_every_undocumented_form(value):
    with pytest.raises(OutputSchemaError, match="rec.nc"):
        is_simulated({"simulated": value}, "rec.nc")


def test_is_simulated_reads_the_documented_forms_and_rejects_a_missing_flag():
    assert is_simulated({"simulated": np.int8(1)}) is True
    assert is_simulated({"simulated": np.int8(0)}) is False
    assert is_simulated({"Simulated": True}) is True
    assert is_simulated({"Simulated": False}) is False
    with pytest.raises(OutputSchemaError, match="side.json"):
        is_simulated({"Simulated": "false"}, "side.json")
    with pytest.raises(OutputSchemaError, match="no 'simulated' flag in x.nc"):
        is_simulated({}, "x.nc")


def test_write_tsv_writes_bids_tabular_json(tmp_path):
    table = pd.DataFrame({"onset": [0.5, 1.0], "trial_type": ["go", "stop"], "simulated": [True, False]})
    path = tmp_path / "events.tsv"
    write_tsv(
        table,
        path,
        "Trials.",
        {
            "onset": {"Description": "trial onset", "Units": "s"},
            "trial_type": {"Description": "trial kind", "Levels": {"go": "go", "stop": "stop"}},
            "simulated": "the trial is simulated",
        },
        sources=["/somewhere/raw.nwb"],
        simulated=True,
    )
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["onset"] == {"Description": "trial onset", "Units": "s"}
    assert side["trial_type"]["Levels"] == {"go": "go", "stop": "stop"}
    assert set(side["simulated"]["Levels"]) == {"true", "false"}
    assert side["TableDescription"] == "Trials." and side["Sources"] == ["raw.nwb"]
    assert side["Simulated"] is True and "neuroflow" in side["SoftwareVersions"]
    assert "Columns" not in side
    back = pd.read_csv(path, sep="\t")
    assert back["simulated"].tolist() == [True, False]  # written true/false
    assert path.read_text().splitlines()[1].endswith("\ttrue")
    assert not check_output_tree(tmp_path, parse_units=UNITS.parse_units)


def test_write_tsv_raises_for_a_column_without_description(tmp_path):
    table = pd.DataFrame({"a": [1], "b": [2]})
    with pytest.raises(OutputSchemaError, match=r"t\.tsv.*\['b'\] have no description"):
        write_tsv(table, tmp_path / "t.tsv", "T.", {"a": "first"}, simulated=False)
    with pytest.raises(OutputSchemaError, match="column 'b' has no description"):
        write_tsv(table, tmp_path / "t.tsv", "T.", {"a": "first", "b": " "}, simulated=False)
    with pytest.raises(OutputSchemaError, match="column 'a' has units"):
        write_tsv(
            table,
            tmp_path / "t.tsv",
            "T.",
            {"a": {"Description": "x", "Units": "(Hz)"}, "b": "y"},
            simulated=False,
        )
    assert not list(tmp_path.iterdir())


def test_the_tree_check_finds_every_old_form(tmp_path):
    (tmp_path / "old.json").write_text(
        json.dumps({"simulated": "no (real recording)", "inner": {"simulated": 1}})
    )
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    (tmp_path / "t.json").write_text(json.dumps({"Description": "old", "Columns": {"x": ""}}))
    xr.Dataset(
        {"w": ("i", [1.0], {"units": "1 (per-source normalized)"})}, attrs={"simulated": "true"}
    ).to_netcdf(tmp_path / "o.nc", engine="h5netcdf")
    problems = "\n".join(check_output_tree(tmp_path, parse_units=UNITS.parse_units))
    for needle in (
        "/simulated = 'no (real recording)'",
        "/inner/simulated = 1",
        "column 'x' is not described",
        "old 'Columns' block",
        "attribute 'simulated' is 'true'",
        "'w' has no 'long_name'",
        "'Conventions' is missing",
        "do not parse",
    ):
        assert needle in problems, needle


def test_stamp_on_a_json_record():
    rec = stamp({"simulated": "yes", "x": 1}, simulated=False, sources=["a/b.fif"])
    assert rec["Simulated"] is False and "simulated" not in rec and rec["Sources"] == ["b.fif"]
    with pytest.raises(OutputSchemaError, match="must be a bool"):
        stamp({}, simulated="no")


def test_recorded_units_keep_physical_units_and_mark_the_rest():
    assert recorded_units("spikes/s") == ("count/s", None)
    assert recorded_units("V") == ("V", None)
    assert recorded_units("a.u. (suite2p)") == ("1", "a.u. (suite2p)")
    for units, _ in map(recorded_units, ("spikes/s", "V", "n.a.", "", "Hz")):
        UNITS.parse_units(units)


def test_read_netcdf_reads_netcdf3_and_names_a_bad_file(tmp_path):
    xr.Dataset({"v": ("i", [1.0, 2.0])}).to_netcdf(tmp_path / "n3.nc", engine="scipy")
    assert (tmp_path / "n3.nc").read_bytes()[:3] == b"CDF"
    np.testing.assert_array_equal(read_netcdf(tmp_path / "n3.nc")["v"].values, [1.0, 2.0])
    (tmp_path / "bad.nc").write_text("not netcdf")
    with pytest.raises(ValueError, match="bad.nc is not a NetCDF file"):
        read_netcdf(tmp_path / "bad.nc")
    with pytest.raises(FileNotFoundError, match="missing.nc"):
        read_netcdf(tmp_path / "missing.nc")


def test_a_table_bids_defines_gets_column_objects_only(tmp_path):
    """bids-validator checks every key of a _channels.json against the column schema: no
    table-level strings there (their provenance is in the recording's record)."""
    from neuroflow.output_schema import check_tabular_sidecar

    table = pd.DataFrame({"name": ["Fz"], "type": ["EEG"], "units": ["V"]})
    cols = {"name": "channel name", "type": "channel type", "units": "unit of the data"}
    path = tmp_path / "sub-01_task-rest_channels.tsv"
    write_tsv(table, path, "EEG channels", cols, sources=["x.fif"], simulated=True)
    side = json.loads(path.with_suffix(".json").read_text())
    assert set(side) == {"name", "type", "units"}
    assert all(isinstance(v, dict) and v["Description"] for v in side.values())
    assert check_tabular_sidecar(side, table.columns, path) == []
    side["TableDescription"] = "EEG channels"
    assert check_tabular_sidecar(side, table.columns, path) == [
        "keys ['TableDescription'] are not column objects (a table BIDS defines)"
    ]
    ours = tmp_path / "sub-01_desc-x_table.tsv"  # a table of ours: stamped
    write_tsv(table, ours, "t", cols, simulated=True)
    assert json.loads(ours.with_suffix(".json").read_text())["Simulated"] is True
