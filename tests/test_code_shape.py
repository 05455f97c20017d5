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
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES}
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
LITERAL_DEFAULT = re.compile(r"""\.get\(\s*["'][A-Za-z_]\w*["']\s*,\s*"""
                             r"""(["'\[{(0-9.\-]|None\b|True\b|False\b)""")


def test_no_rule_file_restates_a_schema_default():
    found = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
             for p in sorted((ROOT / "workflow/rules").glob("*.smk"))
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if LITERAL_DEFAULT.search(line)]
    assert found == []


def test_the_literal_default_pattern_catches_what_it_should():
    assert LITERAL_DEFAULT.search('config["fc"].get("seeds", 10)')
    assert LITERAL_DEFAULT.search('cfg.get("mode", "refit")')
    assert LITERAL_DEFAULT.search("x.get('bands', {})")
    assert not LITERAL_DEFAULT.search('src.get("series", s)')   # a computed fallback
    assert not LITERAL_DEFAULT.search('config["fc"]["seeds"]')


# The modules that read config: what rule files import (inputs.py) and the settings objects
# built from the validated config (settings.py). A `.get("key", <literal>)` there restates a
# default the schema fills in (read `section["key"]`, or fill a partial mapping from the
# schema with neuroflow.config.fill_defaults).
CONFIG_READERS = ("inputs.py", "settings.py")

# Calls still to be removed, by file, with who removes them (each entry must still be
# found: a fixed one leaves this list). New ones anywhere fail the test.
PENDING = {
    # activity.spikes.<id> entries: reader, file, time_column and simulated have their
    # defaults in the schema's descriptions only ("absent = ..."); they go once the schema
    # gives them as `default:` (then filled per entry as bicluster.recordings entries are)
    "src/neuroflow/activity/inputs.py": {
        "rec.get('file', 0)", "rec.get('reader', 'nwb')", "rec.get('time_column', 'time')",
        "rec.get('simulated', False)",
    },
}


def literal_get_defaults(source: str) -> list[tuple[int, str]]:
    """``(line, call)`` of every ``<x>.get("<identifier>", <literal>)`` in Python source; a
    literal is a constant other than None, a signed number, or a list/dict/tuple/set display."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get" and len(node.args) == 2 and not node.keywords):
            continue
        key, default = node.args
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)
                and key.value.isidentifier()):
            continue
        if isinstance(default, ast.UnaryOp) and isinstance(default.op, (ast.USub, ast.UAdd)):
            default = default.operand
        literal = (isinstance(default, ast.Constant) and default.value is not None) or \
            isinstance(default, (ast.List, ast.Dict, ast.Tuple, ast.Set))
        if literal:
            found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def test_no_module_that_reads_config_restates_a_schema_default():
    new, fixed = [], []
    for path in _modules():
        if path.name not in CONFIG_READERS:
            continue
        rel = str(path.relative_to(ROOT))
        calls = literal_get_defaults(path.read_text())
        pending = PENDING.get(rel, set())
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
        (2, "config['fc'].get('seeds', 10)"), (3, "cfg.get('mode', 'refit')"),
        (4, "x.get('bands', {})"), (5, "opts.get('lags', (0, 1))"),
        (6, "opts.get('shift', -2)"), (7, "sec.get('activate', True)")]


def test_settings_objects_take_their_defaults_from_the_schema(monkeypatch):
    import copy

    from neuroflow.activity import homogenize, inputs
    from neuroflow.eeg.simulate import simulation_defaults

    s = homogenize.HomogenizeSettings.from_params({"step_s": 0.5, "smoothing": {"causal": False}})
    assert (s.step_s, s.min_samples, s.random_state) == (0.5, 600, 42)
    assert s.smoothing == {"method": "moving", "window_s": 2.664, "causal": False, "alpha": 0.5,
                           "sigma_s": 1.0}
    with pytest.raises(TypeError, match="stepsize"):
        homogenize.HomogenizeSettings.from_params({"stepsize": 0.5})
    edited = copy.deepcopy(inputs.activity_schema())          # a schema edit reaches the code
    edited["properties"]["min_samples"]["default"] = 7
    monkeypatch.setattr(homogenize, "activity_schema", lambda: edited)
    homogenize._schema_defaults.cache_clear()
    try:
        assert homogenize.HomogenizeSettings.from_params({}).min_samples == 7
    finally:
        homogenize._schema_defaults.cache_clear()
    sim = simulation_defaults()                               # blink amplitude in V, not uV
    assert (sim["sfreq"], sim["alpha_ratio"], sim["blink_amplitude"]) == (256.0, 0.1, 150e-6)
