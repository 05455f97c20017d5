"""The shape the codebase keeps (issue 22; CONTRIBUTING.md): small files and functions in
src/, and no schema default restated in a rule file."""

from __future__ import annotations

import ast
import re
from pathlib import Path

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
