"""The pybids index behind :mod:`neuroflow.bids`: each dataset or derivatives folder
indexed once per tree state into an on-disk cache (by a cheaper indexer that writes the
same rows as pybids' own), and the queries' files matched against the index's tags in
memory where pybids' per-call SQL would cost a second each at a thousand subjects.

Imported by :mod:`neuroflow.bids` (and so by rule files): it stays cheap (pybids is
imported inside the functions that index or query).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import shutil
from pathlib import Path, PurePosixPath

#: pybids' long entity names -> the short keys of file names.
_SHORT = {
    "subject": "sub",
    "session": "ses",
    "sample": "sample",
    "task": "task",
    "tracksys": "tracksys",
    "acquisition": "acq",
    "nucleus": "nuc",
    "volume": "voi",
    "ceagent": "ce",
    "tracer": "trc",
    "staining": "stain",
    "reconstruction": "rec",
    "direction": "dir",
    "run": "run",
    "modality": "mod",
    "echo": "echo",
    "flip": "flip",
    "inv": "inv",
    "mt": "mt",
    "part": "part",
    "proc": "proc",
    "hemi": "hemi",
    "space": "space",
    "res": "res",
    "den": "den",
    "split": "split",
    "recording": "recording",
    "chunk": "chunk",
    "seg": "seg",
    "segmentation": "seg",
    "atlas": "atlas",
    "roi": "roi",
    "model": "model",
    "label": "label",
    "desc": "desc",
}


def cache_dir() -> Path:
    """neuroflow's cache folder, shared with the downloads: ``$NEUROFLOW_CACHE``, else
    ``~/.cache/neuroflow`` (:func:`neuroflow.resources.default_cache_dir`)."""
    from neuroflow.resources import default_cache_dir

    return default_cache_dir()


#: pybids indexes kept in the cache (the oldest beyond this are removed).
MAX_CACHED_INDEXES = 32


def _index_folder(root: str, derivative: bool, stamp: int) -> Path:
    """Where the pybids index (SQLite) of ``root`` in the state ``stamp`` is cached."""
    import hashlib

    import bids

    key = f"{root}|{derivative}|{stamp}|pybids {bids.__version__}"
    return cache_dir() / "pybids" / hashlib.sha256(key.encode()).hexdigest()[:20]


def _prune_index_cache(keep: Path) -> None:
    folders = sorted(
        (p for p in keep.parent.iterdir() if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in folders[MAX_CACHED_INDEXES - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


#: pybids' file classes (``bids.utils.make_bidsfile``), chosen by the file's extensions
_FILE_CLASSES = (
    ("BIDSImageFile", lambda ext: ext.endswith((".nii", ".nii.gz", ".gii"))),
    ("BIDSDataFile", lambda ext: ext in (".tsv", ".tsv.gz")),
    ("BIDSJSONFile", lambda ext: ext == ".json"),
)


def _extensions(name: str) -> str:
    """``"".join(PurePosixPath(name).suffixes)`` (what ``make_bidsfile`` reads), without
    building a path: the name from its first dot after any leading dots, none when it ends
    with a dot."""
    if name.endswith("."):
        return ""
    stem = name.lstrip(".")
    dot = stem.find(".")
    return stem[dot:] if dot > 0 else ""


@functools.lru_cache(maxsize=256)
def _file_class(ext: str) -> str:
    """The polymorphic identity (``class_`` column) of the class pybids gives a file with
    the extensions ``ext``."""
    from bids.layout import models

    cls = next((cls for cls, test in _FILE_CLASSES if test(ext)), "BIDSFile")
    return getattr(models, cls).__mapper__.polymorphic_identity


def _required_text(regex) -> str:
    """The longest run of literal characters at the top level of ``regex``: text every
    match contains, so a path without it cannot match ('' when there is none, when the
    pattern ignores case, or when Python's regex parser is not there to read it)."""
    try:
        from re import _parser
    except ImportError:  # pragma: no cover - Python < 3.11 (then: search every file)
        return ""
    if regex.flags & re.IGNORECASE:
        return ""
    best = run = ""
    for op, arg in _parser.parse(regex.pattern, regex.flags):
        run = run + chr(arg) if op == _parser.LITERAL else ""
        best = max(best, run, key=len)
    return best


@dataclasses.dataclass(frozen=True)
class _Walk:
    """What the fast walk needs of an indexer: the root as pybids spells paths under it,
    its ignore patterns, the name of a folder's layout configuration file and the
    entities (name, regex search, text a match needs, value type, dtype name, mandatory)
    in pybids' order."""

    root: str
    exclude: tuple
    config_file: str
    entities: tuple

    @classmethod
    def of(cls, indexer, config) -> _Walk:
        merged = {}
        for c in config:  # as pybids' _index_dir: later configs replace an entity in place
            merged.update(c.entities)
        entities = tuple(
            (e.name, e.regex.search, _required_text(e.regex), e.dtype, e._dtype, e.mandatory)
            if e.regex is not None
            else (e.name, None, "", e.dtype, e._dtype, e.mandatory)
            for e in merged.values()
        )
        root = indexer._layout._root.path
        return cls(root, tuple(indexer._exclude_patterns), indexer.config_filename, entities)

    def ignored(self, path: str) -> bool:
        rel = path[len(self.root) :]  # "/sub-01/...", as pybids matches it
        return any(patt.search(rel) for patt in self.exclude)


def _scan(folder: str, walk: _Walk) -> tuple[list[str], list[str]] | None:
    """The sub-folders and files of ``folder`` as pybids' walk sorts them (links to folders
    are folders, anything else is a file), or None when pybids must index it itself: a
    layout configuration file there, a ``.zarr`` folder (indexed as a file), or a folder
    that cannot be listed (pybids' walk then skips it)."""
    dirs, files = [], []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                (dirs if entry.is_dir() else files).append(entry.name)
    except OSError:
        return None
    if walk.config_file in files or any(PurePosixPath(d).suffix == ".zarr" for d in dirs):
        return None
    return dirs, files


def _file_rows(folder: str, names: list[str], walk: _Walk, rows: dict) -> None:
    """The file and tag rows pybids' ``_index_file`` writes for the files ``names`` of
    ``folder``: each entity's regex searched on the full path (not when the path lacks text
    every match needs), its first group cast to the entity's type and written as ``str`` of
    it, the search stopped at the first mandatory entity that does not match."""
    files, tags = rows["files"], rows["tags"]
    for name in names:
        path = f"{folder}/{name}"
        if walk.ignored(path):
            continue
        files.append((path, name, folder, False, _file_class(_extensions(name))))
        for entity, search, needed, dtype, dtype_name, mandatory in walk.entities:
            m = search(path) if search is not None and needed in path else None
            value = m.group(1) if m is not None else None
            if value is None:
                if mandatory:
                    break
                continue
            tags.append((path, entity, value if dtype is str else str(dtype(value)), dtype_name, False))


def _walk_rows(indexer, config, pybids_index_dir) -> dict:
    """The rows of every file under the layout's root, walked with ``os.scandir``: folders
    pybids' ignores match are skipped, folders below ``derivatives/`` never entered (the
    files directly in it are indexed, as pybids does), and a folder :func:`_scan` leaves to
    pybids indexed by ``pybids_index_dir`` (its BIDSFile objects and tag dicts kept)."""
    walk = _Walk.of(indexer, config)
    rows = {"files": [], "tags": [], "objects": [], "tag_dicts": []}
    skipped = walk.root + "/derivatives/"
    stack = [walk.root]
    while stack:
        folder = stack.pop()
        if folder.startswith(skipped):
            continue
        found = _scan(folder, walk)
        if found is None:
            upath = indexer._layout._root.joinpath(os.path.relpath(folder, walk.root))
            objects, tag_dicts = pybids_index_dir(upath, config)
            rows["objects"] += objects
            rows["tag_dicts"] += tag_dicts
            continue
        dirs, files = found
        _file_rows(folder, files, walk, rows)
        stack.extend(f"{folder}/{d}" for d in reversed(dirs) if not walk.ignored(f"{folder}/{d}"))
    return rows


#: The columns of the rows :func:`_file_rows` builds, as named in pybids' tables.
_FILE_COLUMNS = ("path", "filename", "dirname", "is_dir", "class_")
_TAG_COLUMNS = ("file_path", "entity_name", "_value", "_dtype", "is_metadata")


def _insert_rows(session, rows: dict) -> None:
    """The file and tag rows inserted with one ``executemany`` each on the session's
    connection (no ORM objects, no per-row parameter processing), in the session's
    transaction (pybids commits it)."""
    from bids.layout.models import BIDSFile, Tag

    conn = session.connection()
    for table, columns, values in (
        (BIDSFile.__table__, _FILE_COLUMNS, rows["files"]),
        (Tag.__table__, _TAG_COLUMNS, rows["tags"]),
    ):
        if values:
            marks = ", ".join("?" * len(columns))
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", values)


@functools.lru_cache(maxsize=1)
def _indexer_class():
    """pybids' indexer, same index, cheaper: for a local tree indexed without validation
    or forced paths, the walk (:func:`_walk_rows`) builds the rows pybids' ``_index_dir``
    builds without its ``UPath`` and ORM objects and inserts them in one ``executemany``
    per table; anything else (and a folder :func:`_scan` leaves to pybids) is pybids' own
    code, whose rows pybids inserts. The ignore check of a file is on its path string."""
    from bids import BIDSLayoutIndexer

    class Indexer(BIDSLayoutIndexer):
        def _validate_file(self, f):
            root = self._layout._root.path.rstrip("/") + "/"
            if self.validator is not None or self._include_patterns or not f.path.startswith(root):
                return super()._validate_file(f)
            rel = f.path[len(root) - 1 :]  # "/sub-01/...", as pybids matches it
            return not any(patt.search(rel) for patt in self._exclude_patterns)

        def _fast(self, path) -> bool:
            root = self._layout._root
            return (
                path is root
                and self.validator is None
                and not self._include_patterns
                and root.protocol in ("", "file", "local")
                and root.path != "/"
            )

        def _index_dir(self, path, config, force=None):
            if not self._fast(path):
                return super()._index_dir(path, config, force)
            rows = _walk_rows(self, config, super()._index_dir)
            _insert_rows(self.session, rows)
            objects = sorted(rows["objects"], key=lambda bf: type(bf).__name__)
            return objects, rows["tag_dicts"]  # what pybids indexed itself: it inserts them

    return Indexer


def _open_layout(root: str, derivative: bool, database_path=None):
    """A ``BIDSLayout`` of ``root``: loads the index at ``database_path`` when it holds one,
    else indexes the tree (file names only: no validation, no metadata)."""
    from bids import BIDSLayout

    options = {"is_derivative": True, "config": ["bids", "derivatives"]} if derivative else {}
    indexer = _indexer_class()(validate=False, index_metadata=False)
    return BIDSLayout(root, validate=False, indexer=indexer, database_path=database_path, **options)


def _build_index(root: str, derivative: bool, stamp: int) -> Path | None:
    """Index ``root`` into the cache (:func:`_index_folder`); None when the cache is not
    writable. Indexed in memory (pybids commits to a file database dozens of times, each
    a disk sync), copied whole into a scratch folder and renamed into place, so two
    processes never see a half-written index."""
    import sqlite3
    import tempfile

    final = _index_folder(root, derivative, stamp)
    if (final / "layout_index.sqlite").is_file():
        return final
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=final.parent, prefix=".build-"))
    except OSError:
        return None
    try:
        engine = _open_layout(root, derivative).connection_manager.engine
        with (
            engine.connect() as conn,
            contextlib.closing(sqlite3.connect(scratch / "layout_index.sqlite")) as copy,
        ):
            conn.connection.dbapi_connection.backup(copy)  # pybids' file name in a folder
        with contextlib.suppress(OSError):  # another process got there first: use its index
            os.rename(scratch, final)
        _prune_index_cache(final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final


@functools.lru_cache(maxsize=16)
def _layout(root: str, derivative: bool, stamp: int):
    """The pybids layout of ``root``, its index cached on disk per tree state: the first
    process to see a tree indexes it (seconds for thousands of files), the others -- the
    Snakemake run after ``neuroflow run``'s stage detection, every later dry run -- load the
    index (milliseconds). Without a writable cache the index is kept in memory."""
    return _open_layout(root, derivative, _build_index(root, derivative, stamp))


@functools.lru_cache(maxsize=16)
def _tag_table(lay) -> dict[str, dict[str, str]]:
    """Every indexed file's file-name tags under pybids' long names (``suffix``,
    ``extension`` and ``datatype`` included), read from the index in one query (reading
    ``BIDSFile.entities`` file by file costs a database round trip each)."""
    from bids.layout.models import Tag

    table: dict[str, dict[str, str]] = {}
    session = lay.connection_manager.session
    query = session.query(Tag.file_path, Tag.entity_name, Tag._value).filter(Tag.is_metadata.is_(False))
    # executed as a Core statement: plain row tuples, no ORM result processing (half the time)
    for path, name, value in session.connection().execute(query.statement):
        table.setdefault(path, {})[name] = value
    return table


@functools.lru_cache(maxsize=16)
def _entity_table(lay) -> dict[str, dict[str, str]]:
    """Every indexed file's short-key entities (str/int tags, stored as spelled: ``01``)."""
    table: dict[str, dict[str, str]] = {}
    for path, tags in _tag_table(lay).items():
        short = {_SHORT[name]: value for name, value in tags.items() if name in _SHORT}
        if short:
            table[path] = short
    return table


#: Entities ``query`` filters in memory: string-typed in pybids' BIDS config, so a filter
#: value matches the tag as spelled (as pybids' own ``Tag._value IN (...)`` clause does).
_STRING_FILTERS = frozenset(
    {
        "datatype",
        "suffix",
        "extension",
        "desc",
        "space",
        "res",
        "den",
        "task",
        "acquisition",
        "session",
        "subject",
        "atlas",
        "label",
    }
)


@functools.lru_cache(maxsize=16)
def _entity_names(lay) -> frozenset[str]:
    """The entities the layout's configuration defines (what ``BIDSLayout.get`` accepts)."""
    from bids.layout.models import Entity

    return frozenset(name for (name,) in lay.connection_manager.session.query(Entity.name))


def _in_memory(filters: dict, known=None) -> dict[str, frozenset | None] | None:
    """``filters`` as sets of accepted values (``None``: the entity must be absent), or
    ``None`` when a filter is not a plain string match on an entity in ``known`` (then
    pybids' own query runs, and raises its own error for an unknown entity)."""
    wanted: dict[str, frozenset | None] = {}
    for name, value in filters.items():
        values = [value] if value is None or isinstance(value, str) else value
        if (
            name not in _STRING_FILTERS
            or (known is not None and name not in known)
            or not isinstance(values, (list, tuple))
            or not values
        ):
            return None
        if any(v is not None and not isinstance(v, str) for v in values):
            return None
        if name == "extension":  # as BIDSLayout.get: a leading dot is added where missing
            values = [v if v is None else "." + v.lstrip(".") for v in values]
        if None in values and len(values) > 1:
            return None
        wanted[name] = None if None in values else frozenset(values)
    return wanted or None


def _matching_files(lay, filters: dict) -> list[str]:
    """The paths ``lay.get(return_type="filename", **filters)`` returns: matched in memory
    against the index's tags when every filter is a plain string match (one database
    query per layout instead of one per call; ``tests/test_bids_index.py`` compares the
    two), else by pybids."""
    wanted = _in_memory(filters, _entity_names(lay))
    if wanted is None:
        return lay.get(return_type="filename", **filters)
    return [
        path
        for path, tags in _tag_table(lay).items()
        if all(
            (tags.get(name) is None) if values is None else tags.get(name) in values
            for name, values in wanted.items()
        )
    ]


#: Top-level folders pybids never indexes: ``derivatives`` (its own layouts; the BIDS-app
#: output folder is usually there) and its default ignores (a name prefix, as pybids
#: matches them); dot-folders are never indexed at any depth.
_NOT_INDEXED = re.compile(r"derivatives$|code|models|sourcedata|stimuli|\.")


#: root -> (every indexed folder -> its mtime, the stamp) of the last full walk
_FOLDERS: dict[str, tuple[dict[str, int], int]] = {}


def _folder_mtimes(root: Path) -> dict[str, int]:
    """Every folder pybids indexes under ``root`` (``root`` included) -> its mtime."""
    found, stack = {str(root): root.stat().st_mtime_ns}, [str(root)]
    while stack:
        top = stack[-1] == str(root)
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.name.startswith(".") or (top and _NOT_INDEXED.match(entry.name)):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    found[entry.path] = entry.stat(follow_symlinks=False).st_mtime_ns
                    stack.append(entry.path)
    return found


def _unchanged(folders: dict[str, int]) -> bool:
    try:
        return all(os.stat(path).st_mtime_ns == mtime for path, mtime in folders.items())
    except OSError:
        return False


def _tree_stamp(root: Path) -> int:
    """The newest modification time of any indexed folder under ``root``: a file added,
    removed or renamed anywhere in what pybids indexes changes it; outputs written under
    ``derivatives/`` or ``sourcedata/`` do not. The folders of the last walk are kept: while
    each still has its mtime (one ``stat`` each, no listing) nothing was added, removed or
    renamed, and the stamp stands without walking the tree again."""
    known = _FOLDERS.get(str(root))
    if known is not None and _unchanged(known[0]):
        return known[1]
    folders = _folder_mtimes(root)
    _FOLDERS[str(root)] = (folders, max(folders.values()))
    return _FOLDERS[str(root)][1]
