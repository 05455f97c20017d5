"""Helpers for tests and benchmarks that run the workflow in a scratch folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

WORKFLOW_ITEMS = ("Snakefile", "workflow", "config", "profiles", "envs")


def repo_root() -> Path:
    """The checkout this (editable) package lives in."""
    return Path(__file__).resolve().parents[2]


def copy_workflow(dest, root=None) -> Path:
    """Copy what a user's checkout holds (minus results and materialized data) to ``dest``."""
    root = Path(root or repo_root())
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_ITEMS:
        src = root / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / name)
    # everything committed under resources/ (manifest, small tables), not materialized data
    shutil.copytree(root / "resources", dest / "resources", dirs_exist_ok=True,
                    ignore=lambda d, names: ["data"] if Path(d) == root / "resources" else [])
    return dest


def set_active_stages(workdir, stages) -> None:
    """Rewrite the copy's config/config.yaml so that only ``stages`` are activated."""
    import yaml

    path = Path(workdir) / "config/config.yaml"
    cfg = yaml.safe_load(path.read_text())
    for name, section in cfg.items():
        if isinstance(section, dict) and ("activate" in section or name == "connectome"):
            section["activate"] = name in stages
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def run_snakemake(workdir, *args, cores: int = 2) -> subprocess.CompletedProcess:
    """Run ``python -m snakemake --cores N *args`` in ``workdir`` (captured output)."""
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), *args],
                          cwd=workdir, capture_output=True, text=True)
