"""One output stamp for every stage: the ``simulated`` flag, NetCDF attributes, TSV sidecars.

Every NetCDF file, TSV table (with its JSON sidecar) and JSON record that neuroflow
writes goes through :func:`neuroflow.provenance.write_netcdf`,
:func:`neuroflow.provenance.write_tsv` or :func:`stamp`, which apply the rules below;
:func:`check_netcdf`, :func:`check_tabular_sidecar` and :func:`check_output_tree` check
them on files already written (the output-schema tests walk the demo's outputs with them).

``simulated`` (one encoding)
    * NetCDF: global attribute ``simulated`` of type int8, ``1`` = the data (or the input
      they were derived from) are simulated, ``0`` = recorded data. NetCDF has no boolean
      type; no other value or type is written or accepted.
    * JSON (sidecars and records): top-level key ``"Simulated"`` with a JSON boolean
      (``true`` / ``false``). CamelCase like the other BIDS metadata keys, so that it
      cannot clash with a TSV column named ``simulated``.
    * TSV: a column ``simulated`` holds ``true`` / ``false`` (read back as booleans by
      pandas) and its sidecar entry lists both levels.
    The user marks an input as simulated in the config (e.g.
    ``activity.recordings.<name>.simulated``, ``bicluster.counts.simulated``); the flag
    flows into every output derived from it. :func:`is_simulated` reads the flag back and
    rejects every other form (e.g. the old ``"no (real recording)"``, which ``bool()``
    would read as true).

NetCDF attribute schema (``Conventions = "CF-1.10"``)
    * global: ``Conventions``, ``simulated`` (int8 0/1), ``software_versions`` (JSON
      object as a string: package -> version; neuroflow's entry carries the commit and a
      dirty flag), ``history`` (one deterministic line: ``"neuroflow <version>: <step>"``,
      no wall-clock time, so the same config and seed give byte-identical files),
      ``sources`` (JSON list of input file names, when the writer gives them);
    * every data variable and every coordinate: a non-empty ``long_name`` and ``units``
      that pint parses (``"1"`` for dimensionless values and for text labels, ``"count"``
      for counts, ``"s"``, ``"Hz"``, ``"count/s"`` for firing rates, ``"V**2/Hz"``, ...).

Tabular sidecars (BIDS tabular JSON)
    Top-level keys are the table's columns, each ``{"Description": ..., "Units": ...
    (when the column has units), "Levels": {code: meaning} (categorical codes)}``; every
    column of the table has a non-empty description. The table itself is described under
    the extra keys ``"TableDescription"``, ``"Sources"``, ``"Simulated"``,
    ``"SoftwareVersions"`` and ``"History"``; stages may add more (``"Compute"``,
    ``"Warnings"``, ...). Table-level keys are CamelCase, column names are not, so the two
    never clash (BIDS allows additional sidecar keys in derivatives). Tables that BIDS
    itself defines (``*_channels.tsv``, ...; :data:`BIDS_DEFINED_TABLES`) are the
    exception: the validator checks every key of their sidecars as a column, so those hold
    column objects only and the recording's own record carries the table-level keys.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

CONVENTIONS = "CF-1.10"
TABLE_KEYS = ("TableDescription", "Sources", "Simulated", "SoftwareVersions", "History")
COLUMN_KEYS = {
    "Description",
    "Units",
    "Levels",
    "LongName",
    "Delimiter",
    "TermURL",
    "HED",
    "Format",
    "Maximum",
    "Minimum",
}
_UNIT_CHARS = re.compile(r"^[A-Za-z0-9_*/^.\- ]+$")


class OutputSchemaError(ValueError):
    """An output (or a writer's data) does not follow the output schema."""


def _where(path) -> str:
    return f" in {path}" if path is not None else ""


def is_simulated(attrs: Mapping, path=None, *, absent: bool | None = None) -> bool:
    """Read the ``simulated`` flag of a NetCDF attrs dict or a JSON record.

    Accepts only the documented forms: NetCDF ``simulated`` = integer 0 or 1, JSON
    ``"Simulated"`` = ``true`` / ``false``. Anything else (a missing flag, a string such as
    ``"no (real recording)"``, a float, another integer) raises naming ``path``.
    ``absent`` (for a user's own input files, which need not carry the flag): the value
    returned, with a printed note naming ``path``, when there is no flag at all.
    """
    if "Simulated" in attrs:
        value = attrs["Simulated"]
        if isinstance(value, bool | np.bool_):
            return bool(value)
        raise OutputSchemaError(f"'Simulated'{_where(path)} is {value!r}; the JSON encoding is true or false")
    if "simulated" in attrs:
        value = attrs["simulated"]
        if isinstance(value, np.ndarray) and value.shape == (1,):
            value = value[0]
        if (
            isinstance(value, int | np.integer)
            and not isinstance(value, bool | np.bool_)
            and int(value) in (0, 1)
        ):
            return bool(int(value))
        raise OutputSchemaError(
            f"attribute 'simulated'{_where(path)} is {value!r}; the NetCDF "
            "encoding is an int8 0 (recorded) or 1 (simulated)"
        )
    if absent is not None:
        print(
            f"neuroflow: no 'simulated' flag{_where(path)}: taken as "
            f"{'simulated' if absent else 'recorded'} data",
            flush=True,
        )
        return bool(absent)
    raise OutputSchemaError(
        f"no 'simulated' flag{_where(path)} (NetCDF attribute 'simulated' "
        "0/1 or JSON key 'Simulated': true/false)"
    )


def _caller_step(depth: int) -> str:
    frame = sys._getframe(depth)
    return f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}"


def history_line(step: str) -> str:
    """``"neuroflow <version label>: <step>"`` (deterministic: no wall-clock time)."""
    from neuroflow.codestamp import code_version

    return f"neuroflow {code_version()['label']}: {step}"


def _versions(packages) -> dict:
    from neuroflow.provenance import DEFAULT_PACKAGES, package_versions

    names = tuple(dict.fromkeys((*DEFAULT_PACKAGES, *(packages or ()))))
    return package_versions(names)


def stamp(obj, *, simulated: bool, sources=None, packages=None, step: str | None = None, _depth: int = 2):
    """Put the one provenance stamp on a Dataset's attrs or on a JSON record (dict).

    Parameters
    ----------
    obj : xarray.Dataset or dict
        A Dataset gets the NetCDF globals (``Conventions``, ``simulated`` int8,
        ``software_versions`` JSON string, ``history``, ``sources`` JSON list); a dict
        (JSON sidecar or record) gets ``Simulated`` (bool), ``SoftwareVersions`` (object),
        ``History`` (the history line) and ``Sources`` (list).
    simulated : bool
        The data (or the inputs they derive from) are simulated. Must be a real bool.
    sources : iterable of str or Path, optional
        Input files; only their names are kept (no machine-specific folders).
    packages : iterable of str, optional
        Packages whose versions are recorded beside the defaults.
    step : str, optional
        What wrote the file (default: the calling function's qualified name).

    Returns
    -------
    The same object, stamped in place.
    """
    if not isinstance(simulated, bool | np.bool_):
        raise OutputSchemaError(f"stamp(simulated=...) must be a bool, got {simulated!r}")
    step = step or _caller_step(_depth)
    versions = _versions(packages)
    names = [Path(str(s)).name for s in sources] if sources else None
    if isinstance(obj, dict):
        obj["Simulated"] = bool(simulated)
        obj["SoftwareVersions"] = versions
        obj["History"] = history_line(step)
        if not isinstance(obj.get("simulated"), Mapping):  # not a column definition
            obj.pop("simulated", None)
        if names is not None:
            obj["Sources"] = names
        return obj
    attrs = obj.attrs
    attrs["Conventions"] = CONVENTIONS
    attrs["simulated"] = np.int8(bool(simulated))
    attrs["software_versions"] = json.dumps(versions, sort_keys=True)
    attrs["history"] = history_line(step)
    attrs.pop("versions", None)
    if names is not None:
        attrs["sources"] = json.dumps(names)
    return obj


def units_problem(units) -> str | None:
    """Why ``units`` is not an acceptable unit string (``None`` when it is).

    The writer checks the form (non-empty, no prose such as ``"1 (per-source)"``); the
    output-schema tests also parse every unit with pint.
    """
    if not isinstance(units, str) or not units.strip():
        return "has no 'units'"
    if not _UNIT_CHARS.match(units):
        return f"has units {units!r}, which is not a unit expression (pint must parse it)"
    return None


_PHYSICAL = {
    "1",
    "s",
    "ms",
    "Hz",
    "V",
    "mV",
    "uV",
    "A",
    "nA",
    "pA",
    "m",
    "mm",
    "um",
    "rad",
    "degree",
    "percent",
    "count",
    "count/s",
    "V**2/Hz",
    "uV**2/Hz",
}
_ALIASES = {
    "spikes/s": "count/s",
    "spikes/bin": "count",
    "%": "percent",
    "sec": "s",
    "seconds": "s",
    "volts": "V",
    "µV": "uV",
    "radians": "rad",
}


def recorded_units(text) -> tuple[str, str | None]:
    """A unit expression for a unit as a data file states it, and the original if replaced.

    Known physical units are kept (``"spikes/s"`` becomes ``"count/s"``); anything else
    (``"a.u."``, ``"n.a."``, ``"dF/F"``, empty) is recorded as ``"1"`` and the caller keeps
    the original under the variable attribute ``units_in_file``.
    """
    raw = str(text or "").strip()
    units = _ALIASES.get(raw, raw)
    return (units, None) if units in _PHYSICAL else ("1", raw or "not stated")


def apply_variables(ds, variables: Mapping | None):
    """Set ``long_name`` and ``units`` from ``{name: (long_name, units)}`` on a Dataset."""
    for name, (long_name, units) in (variables or {}).items():
        if name not in ds.variables:
            raise OutputSchemaError(
                f"variables: {name!r} is not a variable of the dataset (has {sorted(map(str, ds.variables))})"
            )
        ds[name].attrs.update(long_name=long_name, units=units)
    for name in ds.variables:  # text labels have no physical unit: "1" by this schema
        var = ds.variables[name]
        if var.dtype.kind in "USO" and "units" not in var.attrs:
            var.attrs["units"] = "1"
    return ds


def netcdf_problems(ds) -> list[str]:
    """Every way ``ds`` breaks the NetCDF attribute schema (empty list when none)."""
    out = []
    for key in ("Conventions", "software_versions", "history"):
        if not ds.attrs.get(key):
            out.append(f"global attribute {key!r} is missing")
    try:
        is_simulated(ds.attrs)
    except OutputSchemaError as err:
        out.append(str(err))
    try:
        json.loads(ds.attrs.get("software_versions", ""))
    except (TypeError, ValueError):
        out.append("global attribute 'software_versions' is not a JSON object")
    for name in ds.variables:
        attrs = ds.variables[name].attrs
        if not str(attrs.get("long_name", "")).strip():
            out.append(f"variable {name!r} has no 'long_name'")
        problem = units_problem(attrs.get("units"))
        if problem:
            out.append(f"variable {name!r} {problem}")
    return out


def check_dataset(ds, path) -> None:
    """Raise naming ``path`` and every offending variable if ``ds`` breaks the schema."""
    problems = netcdf_problems(ds)
    if problems:
        raise OutputSchemaError(
            f"{path}: NetCDF attribute schema not met: "
            + "; ".join(problems)
            + " (give each variable long_name and units, e.g. "
            "write_netcdf(..., variables={name: (long_name, units)}))"
        )


def _column_entry(name: str, spec, path) -> dict:
    """One column's BIDS entry from a text description or a dict."""
    entry = {"Description": spec} if isinstance(spec, str) else dict(spec or {})
    if not str(entry.get("Description", "")).strip():
        raise OutputSchemaError(
            f"{path}: column {name!r} has no description (write_tsv columns={{...}}: every column needs one)"
        )
    unknown = set(entry) - COLUMN_KEYS
    if unknown:
        raise OutputSchemaError(f"{path}: column {name!r} has unknown keys {sorted(unknown)}")
    if "Units" in entry:
        problem = units_problem(entry["Units"])
        if problem:
            raise OutputSchemaError(f"{path}: column {name!r} {problem}")
    if "Levels" in entry:
        entry["Levels"] = {str(k): str(v) for k, v in entry["Levels"].items()}
    return entry


#: Tables BIDS itself defines: their sidecars may hold only column objects (the validator
#: checks every top-level key against the column-definition schema), so their table-level
#: metadata -- description, sources, versions, the simulated flag -- lives in the record
#: of the recording they describe (e.g. ``*_desc-preproc_eeg.json`` for ``*_channels.tsv``).
BIDS_DEFINED_TABLES = (
    "_channels.tsv",
    "_electrodes.tsv",
    "_events.tsv",
    "_scans.tsv",
    "_sessions.tsv",
    "participants.tsv",
)


def bids_defined(path) -> bool:
    """Whether ``path`` is a table BIDS defines (its sidecar holds column objects only)."""
    name = Path(path).name
    return name.endswith(BIDS_DEFINED_TABLES[:-1]) or name == BIDS_DEFINED_TABLES[-1]


def tabular_sidecar(table_columns, path, description: str, columns: Mapping | None) -> dict:
    """The BIDS tabular sidecar of a table with ``table_columns``.

    ``columns`` maps every column to a description string or to a dict with
    ``Description`` and optionally ``Units`` and ``Levels``; a missing or empty
    description raises naming the column and ``path``.
    """
    if not str(description or "").strip():
        raise OutputSchemaError(f"{path}: the table has no description")
    columns = dict(columns or {})
    names = [str(c) for c in table_columns]
    missing = [c for c in names if c not in columns]
    if missing:
        raise OutputSchemaError(
            f"{path}: columns {missing} have no description (write_tsv "
            "columns={...}: every column needs one)"
        )
    clash = [c for c in names if c in TABLE_KEYS]
    if clash:
        raise OutputSchemaError(f"{path}: column names {clash} are reserved sidecar keys")
    side = {c: _column_entry(c, columns[c], path) for c in names}
    if "simulated" in side:
        side["simulated"].setdefault("Levels", {"true": "simulated data", "false": "recorded data"})
    side["TableDescription"] = description
    return side


def check_tabular_sidecar(sidecar: Mapping, table_columns, path) -> list[str]:
    """Every way a written sidecar breaks the BIDS tabular form (empty list when none)."""
    out = []
    for col in table_columns:
        entry = sidecar.get(str(col))
        if not isinstance(entry, Mapping):
            out.append(f"column {col!r} is not described")
            continue
        if not str(entry.get("Description", "")).strip():
            out.append(f"column {col!r} has an empty description")
        if "Units" in entry and units_problem(entry["Units"]):
            out.append(f"column {col!r} {units_problem(entry['Units'])}")
    extra = set(sidecar) - set(map(str, table_columns))
    if "Columns" in extra:
        out.append("has the old 'Columns' block (BIDS tabular form: one top-level key per column)")
    loose = sorted(k for k in extra if not k[:1].isupper())
    if bids_defined(path):
        loose = sorted(k for k in extra if not isinstance(sidecar[k], Mapping))
        if loose:
            out.append(f"keys {loose} are not column objects (a table BIDS defines)")
        return out
    if loose:
        out.append(f"keys {loose} are neither columns nor CamelCase table keys")
    if "Simulated" in sidecar and not isinstance(sidecar["Simulated"], bool):
        out.append(f"'Simulated' is {sidecar['Simulated']!r}, not true/false")
    return out


def json_simulated_problems(obj, where: str = "") -> list[str]:
    """``simulated`` keys in a JSON document that are not ``"Simulated": true|false``.

    A top-level ``simulated`` key that is a column definition (a dict) is allowed.
    """
    out = []
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            here = f"{where}/{key}"
            if str(key).lower() == "simulated":
                column = not where and isinstance(value, Mapping) and "Description" in value
                if not column and (key != "Simulated" or not isinstance(value, bool)):
                    out.append(f'{here} = {value!r} (the encoding is "Simulated": true|false)')
            if key != "Levels":  # the codes of a categorical column, not metadata
                out.extend(json_simulated_problems(value, here))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out.extend(json_simulated_problems(value, f"{where}[{i}]"))
    return out


def _tsv_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        line = fh.readline().rstrip("\n")
    return line.split("\t") if line else []  # a table without columns


def _units_of_tree(obj):
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if key in ("Units", "units") and isinstance(value, str):
                yield value
            else:
                yield from _units_of_tree(value)


def check_output_tree(root, parse_units=None) -> list[str]:
    """Check every output under ``root``; return one line per problem (empty when none).

    * each ``.nc``: the NetCDF attribute schema (:func:`netcdf_problems`);
    * each ``.json`` beside a ``.tsv``: BIDS tabular form, no empty description;
    * each ``.json``: ``simulated`` only as ``"Simulated": true|false``;
    * each ``simulated`` column of a ``.tsv``: only ``true`` / ``false``;
    * with ``parse_units`` (e.g. ``pint.UnitRegistry().parse_units``), every unit string.
    """
    import xarray as xr

    root = Path(root)
    out = []

    def units(where, values):
        for u in values:
            try:
                parse_units(u)
            except Exception as err:  # noqa: BLE001 - any parser error is a finding
                out.append(f"{where}: units {u!r} do not parse ({type(err).__name__})")

    for path in sorted(root.rglob("*.nc")):
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            out.extend(f"{path}: {p}" for p in netcdf_problems(ds))
            if parse_units:
                units(
                    path,
                    [
                        ds.variables[v].attrs.get("units")
                        for v in ds.variables
                        if isinstance(ds.variables[v].attrs.get("units"), str)
                    ],
                )
    for path in sorted(root.rglob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except ValueError as err:
            out.append(f"{path}: not JSON ({err})")
            continue
        out.extend(f"{path}: {p}" for p in json_simulated_problems(doc))
        tsv = path.with_suffix(".tsv")
        if tsv.is_file() and isinstance(doc, Mapping):
            header = _tsv_header(tsv)
            out.extend(f"{path}: {p}" for p in check_tabular_sidecar(doc, header, path))
            if "simulated" in header:
                import pandas as pd

                col = pd.read_csv(tsv, sep="\t", usecols=["simulated"], dtype=str)["simulated"]
                bad = sorted(set(col) - {"true", "false"})
                if bad:
                    out.append(f"{tsv}: column 'simulated' holds {bad} (only true/false)")
        if parse_units:
            units(path, list(_units_of_tree(doc)))
    return out
