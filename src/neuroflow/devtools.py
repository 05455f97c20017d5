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


def demo_config(root=None) -> dict:
    """The demo cohort's full config: ``config/config.yaml`` with ``config/cohorts/demo.yaml``
    layered over it exactly as ``snakemake --configfile`` does in this workflow."""
    import yaml

    from neuroflow.config import layer

    root = Path(root or repo_root())
    base = yaml.safe_load((root / "config/config.yaml").read_text())
    demo = yaml.safe_load((root / "config/cohorts/demo.yaml").read_text())
    return layer(base, demo)


def copy_workflow(dest, root=None, cohort: str | None = "demo") -> Path:
    """Copy what a user's checkout holds (minus results and materialized data) to ``dest``.

    With ``cohort`` (default ``"demo"``) the copy's ``config/config.yaml`` is that cohort's
    full config (the base with ``config/cohorts/<cohort>.yaml`` layered over it), so that
    tests can switch stages with :func:`set_active_stages`; ``None`` keeps the clean base.
    """
    root = Path(root or repo_root())
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_ITEMS:
        src = root / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / name)
    # everything committed under resources/ (manifest, small tables), not materialized data
    shutil.copytree(
        root / "resources",
        dest / "resources",
        dirs_exist_ok=True,
        ignore=lambda d, names: ["data"] if Path(d) == root / "resources" else [],
    )
    if cohort:
        import yaml

        from neuroflow.config import layer

        base = yaml.safe_load((root / "config/config.yaml").read_text())
        over = yaml.safe_load((root / f"config/cohorts/{cohort}.yaml").read_text())
        (dest / "config/config.yaml").write_text(yaml.safe_dump(layer(base, over), sort_keys=False))
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


def run_snakemake(
    workdir, *args, cores: int = 2, timeout: float | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m snakemake --cores N *args`` in ``workdir`` (captured output); a run
    longer than ``timeout`` seconds raises ``subprocess.TimeoutExpired``."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", str(cores), *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
