"""Which code made an output: the package modules each rule runs, and the commit.

Snakemake reruns a script rule when its thin script changes, but the analysis code lives
in this package, so an edit of e.g. ``homogenize/consensus.py`` would rerun nothing. The
workflow therefore passes every rule a ``neuroflow_code`` parameter: a hash of the
package modules its script imports, directly or through other package modules (imports
inside functions included). Snakemake's ``params`` rerun trigger then reruns exactly the
rules whose code path changed. :func:`code_version` adds the git commit and a dirty flag
for the provenance written into every output.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = "neuroflow"


def package_root() -> Path:
    """The folder of the imported ``neuroflow`` package (``src/neuroflow`` in a checkout)."""
    return Path(__file__).resolve().parent


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Names of the package modules (or names inside them) that `tree` imports."""
    here = module if is_package else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)  # `from pkg import module`
    return out


def _parse_graph(root: Path) -> dict[str, tuple[Path, frozenset[str]]]:
    graph = {}
    for path in sorted(root.rglob("*.py")):
        name = _module_name(path, root)
        tree = ast.parse(path.read_bytes(), filename=str(path))
        graph[name] = (path, frozenset(_imported(tree, name, path.name == "__init__.py")))
    return graph


@functools.cache
def _graph(root: Path, stamp: tuple) -> dict[str, tuple[Path, frozenset[str]]]:
    """Module name -> (file, package modules it imports), for every module under `root`.

    Parsing every module costs about a second at each workflow start; the graph is kept
    in neuroflow's cache folder under a hash of ``stamp`` (every file's path, size and
    mtime), so it is parsed again only after a module changes. A cache folder that cannot
    be written only costs the parse."""
    from neuroflow.resources import default_cache_dir

    key = hashlib.sha256(repr((str(root), stamp, sys.version_info[:2])).encode()).hexdigest()
    cached = default_cache_dir() / "codestamp" / f"{key[:32]}.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return {
            name: (Path(path), frozenset(imports))
            for name, (path, imports) in json.loads(cached.read_text()).items()
        }
    graph = _parse_graph(root)
    with contextlib.suppress(OSError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        scratch = cached.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(json.dumps({n: [str(p), sorted(i)] for n, (p, i) in graph.items()}))
        os.replace(scratch, cached)  # whole or absent: a reader never sees half a file
    return graph


def import_graph(root: Path | None = None) -> dict[str, tuple[Path, frozenset[str]]]:
    """The package's import graph, parsed once per state of its files."""
    root = Path(root or package_root()).resolve()
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*.py")))
    return _graph(root, stamp)


def _with_parents(name: str, graph) -> list[str]:
    """`name` resolved to modules of the graph, with the packages Python imports first."""
    parts = name.split(".")
    found = [".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in graph]
    return found


def closure(names, graph) -> set[str]:
    """Every package module that importing `names` runs."""
    seen: set[str] = set()
    todo = [m for n in names for m in _with_parents(n, graph)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(m for n in graph[name][1] for m in _with_parents(n, graph))
    return seen


def script_modules(script: Path, root: Path | None = None, graph=None) -> set[str]:
    """The package modules a workflow script runs (its imports' transitive closure)."""
    graph = graph if graph is not None else import_graph(root)
    tree = ast.parse(Path(script).read_bytes(), filename=str(script))
    return closure(_imported(tree, "__script__", False), graph)


def _module_digests(graph) -> dict[str, bytes]:
    """Module name -> sha256 of its source, each file read once."""
    return {name: hashlib.sha256(path.read_bytes()).digest() for name, (path, _) in graph.items()}


def script_stamp(script: Path, root: Path | None = None, graph=None, digests=None) -> str:
    """A 16-hex-digit hash of the source of every package module `script` runs.

    ``graph`` and ``digests`` (from :func:`import_graph` and the modules' source hashes)
    can be passed in to stamp many scripts with one pass over the package.
    """
    graph = graph if graph is not None else import_graph(root)
    digests = digests if digests is not None else _module_digests(graph)
    digest = hashlib.sha256()
    for name in sorted(script_modules(script, root, graph)):
        digest.update(name.encode() + b"\0" + digests[name] + b"\0")
    return digest.hexdigest()[:16]


def stamp_rules(rules, root: Path | None = None) -> dict[str, str]:
    """Set a ``neuroflow_code`` parameter on every script rule; returns rule -> stamp.

    Called once from the Snakefile after every rule file is included; the package is
    parsed and hashed once for all rules.
    """
    graph = import_graph(root)
    digests = _module_digests(graph)
    stamps = {}
    for rule in rules:
        script = getattr(rule, "script", None)
        if not script:
            continue
        path = Path(script)
        if not path.is_absolute():
            path = Path(rule.basedir.get_path_or_uri(secret_free=True)) / path
        stamps[rule.name] = script_stamp(path, root, graph, digests)
        rule.set_params(neuroflow_code=stamps[rule.name])
    return stamps


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


@functools.cache
def code_version(root: Path | None = None) -> dict:
    """``{"version", "commit", "dirty", "label"}`` of the running package.

    ``commit`` is the git HEAD of the checkout holding the package (``None`` for an
    installed wheel); ``dirty`` says whether its code (``src/`` and ``workflow/``) differs
    from that commit. ``label`` is the PEP 440 form written into provenance:
    ``0.1.0+g<12 hex>`` (``.dirty`` appended), or the plain version outside a checkout.
    """
    from neuroflow import __version__

    repo = Path(root or package_root()).resolve().parents[1]
    commit = _git(repo, "rev-parse", "HEAD") if (repo / ".git").exists() else None
    if not commit:
        return {"version": __version__, "commit": None, "dirty": None, "label": __version__}
    commit = commit.strip()
    status = _git(repo, "status", "--porcelain", "--", "src", "workflow")
    dirty = bool(status and status.strip())
    label = f"{__version__}+g{commit[:12]}" + (".dirty" if dirty else "")
    return {"version": __version__, "commit": commit, "dirty": dirty, "label": label}
