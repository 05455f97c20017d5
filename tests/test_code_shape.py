"""The shape the codebase keeps (issue 22; CONTRIBUTING.md): small files and functions in
src/, and no schema default restated in a rule file or in the modules that read config."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80


def _modules():
    return sorted((ROOT / "src/neuroflow").rglob("*.py"))


def test_no_file_in_src_is_over_600_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert long == {}


def test_no_function_in_src_is_over_80_lines():
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert long == {}


# `.get("key", <literal>)` restates a default the schema already filled into config
LITERAL_DEFAULT = re.compile(
    r"""\.get\(\s*["'][A-Za-z_]\w*["']\s*,\s*"""
    r"""(["'\[{(0-9.\-]|None\b|True\b|False\b)"""
)


def test_no_rule_file_restates_a_schema_default():
    found = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in sorted((ROOT / "workflow/rules").glob("*.smk"))
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if LITERAL_DEFAULT.search(line)
    ]
    assert found == []


def test_the_literal_default_pattern_catches_what_it_should():
    assert LITERAL_DEFAULT.search('config["fc"].get("seeds", 10)')
    assert LITERAL_DEFAULT.search('cfg.get("mode", "refit")')
    assert LITERAL_DEFAULT.search("x.get('bands', {})")
    assert not LITERAL_DEFAULT.search('src.get("series", s)')  # a computed fallback
    assert not LITERAL_DEFAULT.search('config["fc"]["seeds"]')


# The modules that read config: what rule files import (inputs.py), the settings objects
# built from the validated config (settings.py), the rule-level entry points (pipeline.py,
# workflow.py), the methods text (methods.py), config.py itself, and the modules below that
# take a config section or entry as an argument. A `.get("key", <literal>)` there restates a
# default the schema fills in: read `section["key"]`, or fill a partial mapping from the
# schema (neuroflow.config.filled_section / filled_entry / fill_defaults).
CONFIG_READERS = ("inputs.py", "settings.py", "pipeline.py", "workflow.py", "methods.py", "config.py")
CONFIG_READER_MODULES = tuple(
    f"src/neuroflow/{m}.py"
    for m in (
        "activity/homogenize",
        "bids",
        "eeg/simulate",
        "fc/data",
        "fc/operators/bank",
        "fmri/checks",
        "fmri/confounds",
        "fmri/index",
        "fmri/qc",
        "participants",
        "report/references",
        "rsa/claims",
        "rsa/transforms",
    )
)

# `.get` on data, not on config, keeps its fallback: NetCDF / xarray attributes, rows of a
# table, BIDS entities, a loaded pickle or JSON sidecar, the resources manifest (a file
# with no schema defaults), and any value read straight from a call (json.loads(...).get).
DATA_RECEIVERS = frozenset({"attrs", "row", "ents", "entities", "data", "manifest", "sidecar", "meta", "()"})
# single lookups whose fallback is no schema default: on computed values whose receiver name
# does not say so, or a fallback that means "the key is absent" rather than a setting
NOT_CONFIG = {
    "src/neuroflow/encoding/pipeline.py": {"noise.get('record', {})"},  # noise-ceiling result
    "src/neuroflow/activity/pipeline.py": {"rec.get('dataset', 'user')"},  # no dataset: paths
    "src/neuroflow/activity/homogenize.py": {  # label-match counts
        "counts.get('ambiguous', 0)",
        "counts.get('ambiguous_resolved', 0)",
    },
    "src/neuroflow/participants.py": {  # jsonschema error and
        "(err.params or {}).get('property', '')",
        "schema.get('required', [])",
    },  # row schema
    "src/neuroflow/report/references.py": {"fields.get('note', '')"},  # BibTeX fields
}

# Calls still to be removed, by file, with who removes them (each entry must still be
# found: a fixed one leaves this list). New ones anywhere fail the test.
PENDING: dict[str, set[str]] = {}


def _receiver(node: ast.expr) -> str:
    """The name a ``.get`` is called on: ``x`` of ``x.get``, ``attrs`` of ``ds.attrs.get``,
    ``entities`` of ``spec["entities"].get``, ``()`` for the result of a call."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return str(node.slice.value)
    return "()" if isinstance(node, ast.Call) else ""


def literal_get_defaults(source: str, data_receivers=frozenset()) -> list[tuple[int, str]]:
    """``(line, call)`` of every ``<x>.get("<identifier>", <literal>)`` in Python source; a
    literal is a constant other than None, a signed number, or a list/dict/tuple/set display.
    Calls on a receiver named in ``data_receivers`` (see :func:`_receiver`) are left out."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and len(node.args) == 2
            and not node.keywords
        ):
            continue
        if _receiver(node.func.value) in data_receivers:
            continue
        key, default = node.args
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.isidentifier()):
            continue
        if isinstance(default, ast.UnaryOp) and isinstance(default.op, (ast.USub, ast.UAdd)):
            default = default.operand
        literal = (isinstance(default, ast.Constant) and default.value is not None) or isinstance(
            default, (ast.List, ast.Dict, ast.Tuple, ast.Set)
        )
        if literal:
            found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def test_no_module_that_reads_config_restates_a_schema_default():
    new, fixed = [], []
    for path in _modules():
        rel = str(path.relative_to(ROOT))
        if path.name not in CONFIG_READERS and rel not in CONFIG_READER_MODULES:
            continue
        calls = literal_get_defaults(path.read_text(), DATA_RECEIVERS)
        pending = PENDING.get(rel, set()) | NOT_CONFIG.get(rel, set())
        new += [f"{rel}:{line}: {call}" for line, call in calls if call not in pending]
        fixed += sorted(pending - {call for _, call in calls})
    assert new == [], "read the filled config instead of restating its default"
    assert fixed == [], "no longer found: remove from PENDING"


def test_the_code_checker_catches_literal_defaults_and_nothing_else():
    source = """
n = config["fc"].get("seeds", 10)
m = cfg.get("mode", "refit")
bands = x.get('bands', {})
lags = opts.get("lags", (0, 1))
shift = opts.get("shift", -2)
on = sec.get("activate", True)
s = src.get("series", fallback)
t = src.get("series")
u = src.get("series", None)
v = by_sub.get("", [])
w = config["fc"]["seeds"]
y = table.get(key, 0)
"""
    assert literal_get_defaults(source) == [
        (2, "config['fc'].get('seeds', 10)"),
        (3, "cfg.get('mode', 'refit')"),
        (4, "x.get('bands', {})"),
        (5, "opts.get('lags', (0, 1))"),
        (6, "opts.get('shift', -2)"),
        (7, "sec.get('activate', True)"),
    ]


def test_the_code_checker_leaves_lookups_on_data_alone():
    source = """
a = ds.attrs.get("benchmark", "")
b = row.get("t_r_source", "header")
c = spec["entities"].get("task", "")
d = json.loads(text).get("Warnings", [])
e = manifest.get("local", {})
f = bench.get("label_column", "")
g = fmri.get("clean", {})
"""
    assert literal_get_defaults(source, DATA_RECEIVERS) == [
        (7, "bench.get('label_column', '')"),
        (8, "fmri.get('clean', {})"),
    ]
    assert len(literal_get_defaults(source)) == 7


def test_the_config_reader_list_names_existing_modules():
    assert [m for m in CONFIG_READER_MODULES if not (ROOT / m).is_file()] == []
    assert [m for m in NOT_CONFIG if not (ROOT / m).is_file()] == []


def test_settings_objects_take_their_defaults_from_the_schema(monkeypatch):
    import copy

    from neuroflow.activity import homogenize, inputs
    from neuroflow.eeg.simulate import simulation_defaults

    s = homogenize.HomogenizeSettings.from_params({"step_s": 0.5, "smoothing": {"causal": False}})
    assert (s.step_s, s.min_samples, s.random_state) == (0.5, 600, 42)
    assert s.smoothing == {
        "method": "moving",
        "window_s": 2.664,
        "causal": False,
        "alpha": 0.5,
        "sigma_s": 1.0,
    }
    with pytest.raises(TypeError, match="stepsize"):
        homogenize.HomogenizeSettings.from_params({"stepsize": 0.5})
    edited = copy.deepcopy(inputs.activity_schema())  # a schema edit reaches the code
    edited["properties"]["min_samples"]["default"] = 7
    monkeypatch.setattr(homogenize, "activity_schema", lambda: edited)
    homogenize._schema_defaults.cache_clear()
    try:
        assert homogenize.HomogenizeSettings.from_params({}).min_samples == 7
    finally:
        homogenize._schema_defaults.cache_clear()
    sim = simulation_defaults()  # blink amplitude in V, not uV
    assert (sim["sfreq"], sim["alpha_ratio"], sim["blink_amplitude"]) == (256.0, 0.1, 150e-6)
