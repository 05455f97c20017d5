"""Where the workflow (Snakefile, rules, schemas, config, profiles, envs, resources) lives.

In a checkout (editable install) it is the repository; after a plain ``pip install`` it is
the copy that the wheel ships inside the package (``neuroflow/_workflow``, written by
``setup.py`` at build time). The ``neuroflow`` command finds it here, so that it runs from
any folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: What a runnable copy of the workflow holds (relative to its root).
ITEMS = ("Snakefile", "workflow", "config", "profiles", "envs", "resources")


def _checkout() -> Path:
    return Path(__file__).resolve().parents[2]


def workflow_root() -> Path:
    """The folder holding ``Snakefile``: the checkout, else the packaged copy."""
    for root in (_checkout(), Path(__file__).resolve().parent / "_workflow"):
        if (root / "Snakefile").is_file() and (root / "workflow" / "rules").is_dir():
            return root
    raise FileNotFoundError(
        "the neuroflow workflow files are missing from this installation "
        f"(looked in {_checkout()} and {Path(__file__).parent / '_workflow'})"
    )


def is_checkout(root: Path) -> bool:
    """Whether ``root`` is a source checkout (then Snakemake runs in it, as from the shell)."""
    return (root / "pyproject.toml").is_file()


def materialize(dest) -> Path:
    """Copy the workflow files into ``dest`` (a work folder), keeping materialized data out;
    files already there are overwritten, ``resources/data`` and ``.snakemake`` are kept."""
    root = workflow_root()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ITEMS:
        src = root / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("data", "__pycache__")
            )
        else:
            shutil.copy2(src, dest / name)
    return dest


def pip_spec() -> str:
    """What a conda env's post-deploy script installs as neuroflow (``NEUROFLOW_PIP_SPEC``):
    this installation's source folder (editable/local installs), its VCS or archive URL,
    or ``neuroflow==<version>`` from the package index."""
    import json
    from importlib import metadata
    from urllib.parse import unquote, urlparse

    dist = metadata.distribution("neuroflow")
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    url = direct.get("url", "")
    if url.startswith("file://"):
        return unquote(urlparse(url).path)
    if "vcs_info" in direct:
        vcs = direct["vcs_info"]
        return f"neuroflow @ {vcs['vcs']}+{url}@{vcs['commit_id']}"
    return f"neuroflow @ {url}" if url else f"neuroflow=={dist.version}"
