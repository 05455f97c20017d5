"""A newcomer's walk (issue 22): CONTRIBUTING.md's "add an FC operator" recipe, followed
literally in a scratch copy of ``neuroflow.fc.operators``.

The recipe's three code blocks are taken from CONTRIBUTING.md as written: the function is
appended to the family module, the ``Operator(...)`` entry goes where step 2 says, and the
reference test of step 3 runs against the scratch bank, as do the bank-wide checks of
tests/test_fc_operators.py that step 3 says cover every operator.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
OPERATORS = ROOT / "src" / "neuroflow" / "fc" / "operators"


def recipe_blocks(text: str, title: str) -> list[str]:
    """The fenced ``python`` blocks of one ``## Recipe: <title>`` section, dedented."""
    section = text.split(f"## Recipe: {title}\n", 1)[1].split("\n## ", 1)[0]
    return [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)\n *```", section, re.S)]


def register(bank_source: str, function: str, entry: str) -> str:
    """``bank_source`` with ``entry`` as the first item of the list that ``function`` adds
    with ``ops += [`` (step 2 of the recipe)."""
    lines = bank_source.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"def {function}("))
    at = next(i for i in range(start, len(lines)) if lines[i].strip() == "ops += [")
    indent = " " * (len(lines[at]) - len(lines[at].lstrip()) + 4)
    lines[at + 1 : at + 1] = [textwrap.indent(entry, indent) + "\n"]
    return "".join(lines)


@pytest.fixture
def scratch_operators(tmp_path, monkeypatch):
    """A copy of neuroflow.fc.operators with the recipe applied, imported as its own package."""
    blocks = recipe_blocks((ROOT / "CONTRIBUTING.md").read_text(), "add an FC operator")
    assert len(blocks) == 3, "the recipe has a function, a registration and a test block"
    function, entry, test = blocks
    name = "scratch_fc_operators"
    pkg = tmp_path / name
    shutil.copytree(OPERATORS, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    with (pkg / "distance.py").open("a") as fh:  # step 1: the family's module
        fh.write("\n\n" + function + "\n")
    bank = pkg / "bank.py"  # step 2: the family's list
    bank.write_text(register(bank.read_text(), "_distance_causal_ops", entry))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield importlib.import_module(name), test
    finally:
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[mod]


def _windows():
    """tests/test_fc_operators.py's small windows: 6 samples of 5 mixed regions x 70."""
    rng = np.random.default_rng(7)
    mix = rng.standard_normal((5, 5))
    return np.einsum("ij,njt->nit", mix, rng.standard_normal((6, 5, 70)))


def _run_recipe_test(test: str, bank: dict, X) -> None:
    namespace = {"np": np, "BANK": bank, "X": X}
    exec(compile(test, "CONTRIBUTING.md (recipe test)", "exec"), namespace)
    tests = [f for key, f in namespace.items() if key.startswith("test_")]
    assert len(tests) == 1
    tests[0]()


def test_the_add_an_fc_operator_recipe_gives_a_working_checked_operator(scratch_operators):
    ops, test = scratch_operators
    bank = ops.operator_bank()
    new = set(bank) - set(importlib.import_module("neuroflow.fc.operators").operator_bank())
    assert new == {"mean_abs_diff"}
    op = bank["mean_abs_diff"]
    assert (op.family, op.directed, op.signed) == ("distance", False, False)
    assert "mean_abs_diff" in ops.select_operators(bank, ["distance"])  # fc.operators: distance
    X = _windows()
    out = ops.compute_operators(X[:2, :3, :20], 1.0, ["mean_abs_diff", "pdist_cityblock"], bank)
    assert out.shape == (2, 2, 3, 3) and np.isfinite(out).all()
    _run_recipe_test(test, bank, X)  # step 3, as written

    # the bank-wide checks of tests/test_fc_operators.py, run on the scratch bank
    spec = importlib.util.spec_from_file_location(
        "_fc_operator_checks", ROOT / "tests" / "test_fc_operators.py"
    )
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    checks.BANK = bank
    checks.test_bank_has_at_least_150_documented_operators_in_every_family()
    checks.test_every_operator_returns_one_finite_matrix_per_sample("mean_abs_diff")
    checks.test_undirected_operators_give_symmetric_matrices("mean_abs_diff")
    checks.test_unsigned_operators_are_non_negative("mean_abs_diff")


def test_the_recipe_test_fails_on_a_wrong_operator(scratch_operators):
    ops, test = scratch_operators
    bank = ops.operator_bank()
    right = bank["mean_abs_diff"]
    bank["mean_abs_diff"] = ops.Operator(
        right.name,
        right.family,
        right.directed,
        right.signed,
        right.description,
        right.library,
        lambda X, t_r, cache: 1.01 * right.func(X, t_r, cache),
    )
    with pytest.raises(AssertionError):
        _run_recipe_test(test, bank, _windows())


def test_register_puts_the_entry_first_in_the_named_function_list():
    source = (
        "def _a_ops():\n    ops = []\n    ops += [\n        x,\n    ]\n"
        "def _b_ops():\n    ops = [y]\n    ops += [\n        z,\n    ]\n"
    )
    out = register(source, "_b_ops", "Operator(\n    'n')")
    assert out.splitlines()[7:11] == ["    ops += [", "        Operator(", "            'n')", "        z,"]
    assert out.splitlines()[:5] == source.splitlines()[:5]
