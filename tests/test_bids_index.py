"""neuroflow's pybids index (src/neuroflow/bids.py): the cheaper indexer writes the same
index as pybids' own, and the cohort's raw and derivatives folders are indexed side by side
into the on-disk cache, which later queries load.

Tiny hand-written trees (pybids indexes file names only: empty files are enough).
"""

from __future__ import annotations

import json

import pytest

from neuroflow import bids as B
from neuroflow import bids_index as BI

DERIV_FILES = (
    "sub-01/func/sub-01_task-rest_run-1_space-MNI152NLin2009cAsym_res-2_desc-preproc_bold.nii.gz",
    "sub-01/func/sub-01_task-rest_run-1_space-MNI152NLin2009cAsym_res-2_desc-preproc_bold.json",
    "sub-01/func/sub-01_task-rest_run-1_desc-confounds_timeseries.tsv",
    "sub-02/func/sub-02_task-rest_hemi-L_space-fsaverage5_bold.func.gii",
    "sub-02/func/sub-02_task-rest_space-fsLR_den-91k_bold.dtseries.nii",
    "sub-02/anat/sub-02_desc-brain_mask.nii.gz",
)
RAW_FILES = (
    "sub-01/ses-1/eeg/sub-01_ses-1_task-rest_run-1_eeg.vhdr",
    "sub-01/ses-1/eeg/sub-01_ses-1_task-rest_run-1_channels.tsv",
    "sub-02/func/sub-02_task-objects_run-1_events.tsv",
    "sub-02/func/sub-02_task-objects_run-1_bold.nii.gz",
    "sub-02/ses-1/ecephys/sub-02_ses-1_task-rest_ecephys.nwb",
    "participants.tsv",
    # never indexed: pybids' default ignores, dotfiles, and the derivatives (own index)
    "sourcedata/sub-03/func/sub-03_task-objects_bold.nii.gz",
    "code/sub-04_run.py",
    ".git/sub-05_task-x_bold.nii.gz",
    "sub-02/.hidden/sub-02_task-objects_run-2_bold.nii.gz",
    "derivatives/x/sub-06/func/sub-06_task-rest_bold.nii.gz",
)


def _tree(root, files, kind="raw"):
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "t", "BIDSVersion": "1.9.0", "DatasetType": kind})
    )
    return root


def _rows(lay):
    from bids.layout.models import BIDSFile, Tag

    session = lay.connection_manager.session
    files = sorted(
        (f.path, type(f).__name__, f.filename, f.dirname, f.is_dir) for f in session.query(BIDSFile)
    )
    tags = sorted((t.file_path, t.entity_name, t._value, t._dtype, t.is_metadata) for t in session.query(Tag))
    return files, tags


def test_the_indexer_writes_the_same_index_as_pybids(tmp_path):
    """Every file row (path, class) and every entity tag equals pybids' plain indexer's,
    ignored folders included (sourcedata/, code/, dotfiles, derivatives/ stay out)."""
    from bids import BIDSLayout, BIDSLayoutIndexer

    for root, derivative in (
        (_tree(tmp_path / "raw", RAW_FILES), False),
        (_tree(tmp_path / "deriv", DERIV_FILES, "derivative"), True),
    ):
        ours = _rows(BI._open_layout(str(root), derivative))
        options = {"is_derivative": True, "config": ["bids", "derivatives"]} if derivative else {}
        plain = BIDSLayout(
            str(root),
            validate=False,
            **options,
            indexer=BIDSLayoutIndexer(validate=False, index_metadata=False),
        )
        assert ours == _rows(plain)
        paths = {row[0] for row in ours[0]}
        assert not any(
            ("/sourcedata/" in p or "/code/" in p or "/." in p or "/derivatives/" in p) for p in paths
        ), paths
        assert len(ours[0]) == (len(DERIV_FILES) if derivative else 6) + 1  # + description
        classes = {row[0]: row[1] for row in ours[0]}
        assert classes[str(root / "dataset_description.json")] == "BIDSJSONFile"


# what the fast walk must index as pybids does: files no pattern of pybids' config matches
# but the extension, odd extensions, deep folders, sessions, int entities, the derivatives
# config's entities, files directly in derivatives/ (pybids skips only the folders below),
# a case its ignores do not match and a prefix they do, links; and the folders it leaves to
# pybids (a layout configuration file, a .zarr folder)
EDGE_FILES = (
    "README",
    "participants.json",
    "codebook.tsv",
    "Code/sub-01_x.py",
    "derivatives/README.md",
    "derivatives/fmriprep/sub-01/anat/sub-01_T1w.nii.gz",
    "sub-01/ses-1/func/sub-01_ses-1_task-rest_acq-fast_run-01_echo-2_bold.nii.gz",
    "sub-01/ses-1/func/sub-01_ses-1_task-rest_acq-fast_run-01_echo-2_bold.json",
    "sub-01/ses-1/anat/sub-01_ses-1_hemi-L_space-fsaverage_den-10k_desc-x_white.surf.gii",
    "sub-01/ses-1/anat/sub-01_ses-1_space-T1w_res-2_atlas-Schaefer_seg-4_dseg.tsv",
    "sub-01/ses-1/eeg/notes.txt",
    "sub-01/ses-1/eeg/archive.tar.gz",
    "sub-01/ses-1/eeg/trailing.",
    "sub-01/ses-1/eeg/.hidden_eeg.edf",
    "sub-01/xfm/sub-01_from-T1w_to-MNI_mode-image_xfm.h5",
    "sub-01/a/b/c/d/sub-01_task-deep_run-3_events.tsv.gz",
    "sub-01/ses-1/micr/sub-01_ses-1_sample-A_stain-B_chunk-2_TEM.png",
    "sub-02/micr/sub-02_sample-A_BF.ome.zarr/0/0",
    "sub-02/micr/sub-02_sample-A_BF.json",
    "sub-03/func/sub-03_foo-bar_task-x_bold.nii.gz",
    "sub-03/func/sub-03_task-x_bold.json",
)


def test_the_fast_walk_indexes_edge_cases_as_pybids(tmp_path, monkeypatch):
    """Every file row (path, class, file name, folder, is_dir) and tag equals pybids' for
    the edge cases above, as a raw dataset and as a derivatives folder; pybids' own code
    indexed only the folders left to it (a layout configuration file, a .zarr folder)."""
    from bids import BIDSLayout, BIDSLayoutIndexer

    root = _tree(tmp_path / "edge", EDGE_FILES, "derivative")
    (root / "sub-03/layout_config.json").write_text(
        json.dumps({"name": "extra", "entities": [{"name": "foo", "pattern": "[_/\\\\]+foo-([a-z]+)"}]})
    )
    (root / "sub-04").symlink_to(root / "sub-01/ses-1", target_is_directory=True)
    (root / "sub-01/ses-1/eeg/sub-01_ses-1_task-rest_eeg.edf").symlink_to(root / "missing.edf")
    by_pybids = []
    index_file = BIDSLayoutIndexer._index_file
    monkeypatch.setattr(
        BIDSLayoutIndexer,
        "_index_file",
        lambda self, f, e: by_pybids.append(f.path) or index_file(self, f, e),
    )
    for derivative in (False, True):
        options = {"is_derivative": True, "config": ["bids", "derivatives"]} if derivative else {}
        by_pybids.clear()
        ours = _rows(BI._open_layout(str(root), derivative))
        assert by_pybids and all(("/sub-03/" in p or "/sub-02/micr/" in p) for p in by_pybids)
        plain = BIDSLayout(
            str(root),
            validate=False,
            **options,
            indexer=BIDSLayoutIndexer(validate=False, index_metadata=False),
        )
        assert ours == _rows(plain)
        paths = {row[0] for row in ours[0]}
        assert {str(root / p) for p in ("derivatives/README.md", "Code/sub-01_x.py")} <= paths
        assert str(root / "sub-04/func/sub-01_ses-1_task-rest_acq-fast_run-01_echo-2_bold.nii.gz") in paths
        assert [row[0] for row in ours[1] if row[1] == "foo"] == [
            str(root / "sub-03/func/sub-03_foo-bar_task-x_bold.nii.gz")
        ]


def test_extensions_and_required_text_read_paths_as_pybids():
    """The file class comes from the extensions ``pathlib`` reads; an entity's regex is
    searched only in paths holding the literal text every match holds."""
    import re
    from pathlib import PurePosixPath

    for name in ("a.nii.gz", "a", ".a", ".a.b.c", "a.", "a..b", "..a.b", "x.tar.gz", "sub-01_bold.func.gii"):
        assert BI._extensions(name) == "".join(PurePosixPath(name).suffixes), name
    assert BI._required_text(re.compile(r"[/\\]+sub-([a-zA-Z0-9+]+)")) == "sub-"
    assert BI._required_text(re.compile(r"(?:^|_)from-([a-zA-Z0-9+]+).*xfm")) == "from-"
    assert BI._required_text(re.compile(r"[^./\\](\.[^/\\]+)$")) == ""
    assert BI._required_text(re.compile(r"(?i)sub-(\w+)")) == ""


def test_raw_and_derivatives_are_indexed_side_by_side_into_the_cache(tmp_path, monkeypatch):
    """check_bids_config leaves one cached index per folder (the derivatives one written by
    a child process when a second CPU is there); queries then load them, and their answers
    equal those of indexes built in this process."""
    monkeypatch.setenv("NEUROFLOW_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(B, "_cpus", lambda: 2)
    raw = _tree(tmp_path / "raw", RAW_FILES)
    deriv = _tree(tmp_path / "deriv", DERIV_FILES, "derivative")
    config = {"bids_dir": str(raw), "derivatives": [str(deriv)]}
    BI._layout.cache_clear()
    B.index_side_by_side(B.Selection.from_config(config))
    cached = sorted((tmp_path / "cache/pybids").iterdir())
    assert len(cached) == 2 and all((c / "layout_index.sqlite").is_file() for c in cached)
    assert BI._layout.cache_info().currsize == 1  # this process opened one: the child wrote one
    sel = B.check_bids_config(config)
    assert BI._layout.cache_info().currsize == 2
    answers = (
        B.subjects(raw),
        B.subjects(deriv, True),
        B.query(deriv, sel, True, suffix="bold"),
        B.query(raw, sel, datatype="eeg"),
    )
    assert answers[0] == ["01", "02"] and answers[1] == ["01", "02"]
    assert [r["path"].rsplit("/", 1)[1] for r in answers[2]] == sorted(
        f.rsplit("/", 1)[1] for f in DERIV_FILES if "_bold." in f
    )
    assert sorted((tmp_path / "cache/pybids").iterdir()) == cached  # loaded, not rebuilt
    monkeypatch.setenv("NEUROFLOW_CACHE", str(tmp_path / "fresh"))  # in-process indexes
    BI._layout.cache_clear()
    assert (
        B.subjects(raw),
        B.subjects(deriv, True),
        B.query(deriv, sel, True, suffix="bold"),
        B.query(raw, sel, datatype="eeg"),
    ) == answers
    BI._layout.cache_clear()


def test_outputs_under_derivatives_do_not_make_the_raw_index_stale(tmp_path):
    """The cache key of a tree changes with what pybids indexes (a new subject folder) and
    not with folders it never indexes (a BIDS-app's outputs under derivatives/, sourcedata/,
    dot-folders): a run writing its outputs into the dataset does not index it again."""
    import os

    raw = _tree(tmp_path / "raw", RAW_FILES)
    stamp = BI._tree_stamp(raw)
    for folder in (
        "derivatives/neuroflow/sub-01/func",
        "sourcedata/sub-09",
        ".git/x",
        "sub-02/.hidden/y",
    ):  # inside folders that exist: the parents keep mtimes
        (raw / folder).mkdir(parents=True)
        os.utime(raw / folder, ns=(stamp + 10**9, stamp + 10**9))  # newer than the tree
    assert BI._tree_stamp(raw) == stamp
    (raw / "sub-03/func").mkdir(parents=True)
    os.utime(raw / "sub-03/func", ns=(stamp + 2 * 10**9, stamp + 2 * 10**9))
    assert BI._tree_stamp(raw) == stamp + 2 * 10**9


def test_the_tree_stamp_sees_files_added_or_removed_deep_in_a_known_tree(tmp_path):
    """After the first walk the stamp is re-checked by one stat per known folder: a file
    added or removed in an existing folder, or a folder removed, still changes it."""
    import os
    import shutil

    raw = _tree(tmp_path / "raw", RAW_FILES)
    eeg = raw / "sub-01/ses-1/eeg"
    stamp = BI._tree_stamp(raw)
    assert BI._tree_stamp(raw) == stamp  # unchanged: from the kept folders
    (eeg / "sub-01_ses-1_task-rest_run-2_eeg.vhdr").write_bytes(b"")
    os.utime(eeg, ns=(stamp + 10**9, stamp + 10**9))
    assert BI._tree_stamp(raw) == stamp + 10**9
    (eeg / "sub-01_ses-1_task-rest_run-2_eeg.vhdr").unlink()
    os.utime(eeg, ns=(stamp + 3 * 10**9, stamp + 3 * 10**9))
    assert BI._tree_stamp(raw) == stamp + 3 * 10**9
    shutil.rmtree(raw / "sub-01")  # the newest folder gone: the walk runs again
    os.utime(raw, ns=(stamp, stamp))
    assert BI._tree_stamp(raw) == BI._folder_mtimes(raw)[str(raw)] == stamp


# every filter shape the stages' queries use (fMRI index, tRSA masks/confounds, EEG, NWB,
# stage detection), plus absent entities, bare extensions and values no file has
QUERIES = (
    {"datatype": "func", "suffix": ["bold", "timeseries", "regressors"]},
    {"suffix": "mask", "desc": "brain", "datatype": "func", "extension": [".nii.gz", ".nii"]},
    {"suffix": "mask", "desc": "brain", "extension": ["nii.gz"]},
    {"suffix": "timeseries", "desc": "confounds", "extension": ".tsv"},
    {
        "suffix": ["bold", "timeseries"],
        "datatype": "func",
        "extension": [".nii.gz", ".nii", ".func.gii", ".dtseries.nii", ".tsv"],
    },
    {"datatype": "eeg"},
    {"extension": [".nwb"]},
    {"suffix": "bold", "space": "MNI152NLin2009cAsym", "res": "2"},
    {"suffix": "bold", "res": None},
    {"suffix": "bold", "desc": None, "extension": ".nii.gz"},
    {"task": "rest", "session": "1"},
    {"suffix": "nothing"},
)


def test_in_memory_queries_return_what_pybids_get_returns(tmp_path):
    """bids.query matches plain string filters against the index's tags in memory; the
    files must be exactly those of pybids' own ``BIDSLayout.get`` (and a filter it cannot
    match in memory, e.g. an integer run, still goes to pybids)."""
    for root, derivative in (
        (_tree(tmp_path / "raw", RAW_FILES), False),
        (_tree(tmp_path / "deriv", DERIV_FILES, "derivative"), True),
    ):
        lay = BI._open_layout(str(root), derivative)
        for filters in QUERIES:
            assert BI._in_memory(filters) is not None, filters
            if not set(filters) <= BI._entity_names(lay):  # pybids raises: so does query
                with pytest.raises(ValueError, match="not a recognized entity"):
                    BI._matching_files(lay, filters)
                continue
            assert sorted(BI._matching_files(lay, filters)) == sorted(
                lay.get(return_type="filename", **filters)
            ), filters
        assert BI._in_memory({"run": 1}) is None
        assert BI._matching_files(lay, {"run": 1}) == lay.get(return_type="filename", run=1)
    assert len(BI._matching_files(lay, QUERIES[0])) == 5  # bold x 4 + confounds: files match
