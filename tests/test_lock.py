"""The lock file (requirements/, made by `make lock`) pins what set-up installs.

pyproject.toml keeps loose ranges for library use; the lock holds exact versions and sha256
hashes of every package `make demo` / `make test` install (Linux x86_64, CPython 3.11), and
the Makefile installs it with --require-hashes. These tests check that the lock covers every
requirement of pyproject with a pin inside its range, and that the running environment is
the lock when it was installed from it (the Makefile's stamp holds the lock's sha256).
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock-linux-x86_64-py311.txt"
ORACLE_LOCK = ROOT / "requirements" / "oracle-linux-x86_64-py311.txt"
STAMP = Path(sys.prefix) / "bin" / ".neuroflow-installed"
# the platform the lock is for (markers of pyproject's requirements are evaluated there)
LOCK_ENV = {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s*\\?$")


def read_lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """``name -> (version, sha256 hashes)`` of a pip-compile/uv requirements file."""
    pins, current = {}, None
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip() if not line.lstrip().startswith("--hash") else line.strip()
        if not text:
            continue
        if text.startswith("--hash="):
            assert current is not None, f"{path}:{lineno}: a hash before any requirement"
            algo, _, digest = text.removeprefix("--hash=").rstrip(" \\").partition(":")
            assert algo == "sha256" and re.fullmatch(r"[0-9a-f]{64}", digest), f"{path}:{lineno}"
            pins[current][1].append(digest)
            continue
        m = _PIN.match(text)
        assert m, f"{path}:{lineno}: not an exact pin (name==version): {line!r}"
        current = canonicalize_name(m.group(1))
        assert current not in pins, f"{path}:{lineno}: {current} pinned twice"
        pins[current] = (m.group(2), [])
    return pins


def pyproject_requirements() -> list[Requirement]:
    """neuroflow's dependencies and its test extras that apply on the lock's platform."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for r in project["optional-dependencies"]["test"]]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({**LOCK_ENV, "extra": "test"})]


def test_read_lock_rejects_a_range_and_a_bad_hash(tmp_path):
    bad = tmp_path / "lock.txt"
    bad.write_text("numpy>=1.26 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    with pytest.raises(AssertionError, match="not an exact pin"):
        read_lock(bad)
    bad.write_text("numpy==2.4.6 \\\n    --hash=md5:abc\n")
    with pytest.raises(AssertionError):
        read_lock(bad)
    good = tmp_path / "ok.txt"
    good.write_text("# header\nNumPy==2.4.6 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via x\n")
    assert read_lock(good) == {"numpy": ("2.4.6", ["a" * 64])}


def test_lock_pins_every_requirement_of_pyproject_with_a_hash():
    pins = read_lock(LOCK)
    for req in pyproject_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{LOCK.name}: {req.name} (pyproject.toml) is not locked: run make lock"
        assert pins[name][1], f"{LOCK.name}: {name}=={pins[name][0]} has no --hash=sha256"
    assert all(hashes for _, hashes in pins.values()), "every locked package has a hash"


def test_lock_pins_satisfy_pyproject_ranges():
    pins = read_lock(LOCK)
    for req in pyproject_requirements():
        version = pins[canonicalize_name(req.name)][0]
        # a local label (torch's +cpu) is ignored by ==X.Y.Z (PEP 440)
        assert req.specifier.contains(Version(version), prereleases=True), (
            f"{LOCK.name}: {req.name}=={version} is outside pyproject's {req.specifier}: run make lock"
        )


def test_torch_is_locked_as_the_cpu_build_without_cuda_wheels():
    pins = read_lock(LOCK)
    assert Version(pins["torch"][0]).local == "cpu"
    assert not [n for n in pins if n.startswith(("nvidia-", "triton"))]


def test_oracle_lock_pins_cect_alone():
    pins = read_lock(ORACLE_LOCK)
    assert list(pins) == ["cect"] and pins["cect"][1]
    assert "--require-hashes -r $(ORACLE_LOCK)" in (ROOT / "Makefile").read_text()


def test_makefile_installs_the_lock_with_hashes_then_neuroflow_without_deps():
    make = (ROOT / "Makefile").read_text()
    assert f"LOCK := {LOCK.relative_to(ROOT)}" in make
    install = make.index("--require-hashes -r $(LOCK)")
    assert install < make.index("--no-deps --no-build-isolation -e .")


def test_installed_environment_equals_the_lock():
    lock_sha = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    stamp = STAMP.read_text().split() if STAMP.is_file() else []
    if not stamp or not re.fullmatch(r"[0-9a-f]{64}", stamp[0]):
        pytest.skip(
            f"{sys.prefix} was not installed from the lock (no lock sha256 in {STAMP}); "
            "make test / make demo install it"
        )
    assert stamp[0] == lock_sha, (
        f"{sys.prefix} was installed from another version of {LOCK.name}: rerun make to reinstall"
    )
    pins = read_lock(LOCK)
    installed = {}  # the first on sys.path is the one imported (setuptools/_vendor holds
    for d in md.distributions():  # its own packaging/platformdirs further down the path)
        installed.setdefault(canonicalize_name(d.metadata["Name"]), d)
    wrong = {
        n: (v, installed[n].version if n in installed else None)
        for n, (v, _) in pins.items()
        if n not in installed or installed[n].version != v
    }
    assert not wrong, f"locked version vs installed: {wrong}"
    # closed: every requirement of a locked package (on this platform) is locked too
    for name in pins:
        for text in installed[name].requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({**LOCK_ENV, "extra": ""}):
                assert canonicalize_name(req.name) in pins, f"{name} needs {req.name}, not locked"
