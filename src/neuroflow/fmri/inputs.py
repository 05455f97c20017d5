"""What the fMRI rule files import (cheap: pandas, and pybids only when derivatives are set).

:func:`fmri_index` builds the run index from the validated config at parse time, so that a
bad input stops the workflow before any job (naming the file and the config key) and the
DAG lists every run's jobs; :func:`check_fmri_inputs` is the same check for callers that
only want the errors (e.g. ``common.smk``).
"""

from __future__ import annotations

from neuroflow.bids import BIDSInputError, Selection
from neuroflow.config import filled_section

#: Keys of the fmri section replaced by the top-level cohort keys.
_MOVED = {"derivatives_dirs": "derivatives (top level)", "scan.tasks": "tasks (top level)"}


def _check_moved_keys(fmri: dict) -> None:
    values = {"derivatives_dirs": fmri.get("derivatives_dirs"),
              "scan.tasks": (fmri.get("scan") or {}).get("tasks")}
    for key, value in values.items():
        if value:
            raise BIDSInputError(f"config key fmri.{key} ({value}) is no longer read: use "
                                 f"{_MOVED[key]} instead, and leave fmri.{key} empty")


def index_arguments(config: dict) -> dict:
    """Keyword arguments of :func:`neuroflow.fmri.index.build_index` from the filled config."""
    fmri = filled_section(config, "fmri")
    scan = fmri["scan"]
    selection = Selection.from_config(config)
    return {
        "sample_sheet": fmri.get("sample_sheet") or None,
        "derivatives": selection if selection.derivatives else None,
        "spaces": tuple(scan.get("spaces") or ()),
        "desc": scan["desc"],
        "resources_dest": config["resources"]["dest"],
        "strategies": fmri.get("strategies") or {},
        "atlases": fmri.get("atlases") or {},
        "scan_strategies": tuple(scan.get("strategies") or ()),
        "participants": fmri.get("participants") or {},
        "timeseries_strategies": tuple(scan.get("timeseries_strategies") or ()),
        "simulated": fmri["simulated"],
    }


def check_atlas_tables(atlases: dict) -> None:
    """The ``labels`` table of each volumetric / surface atlas must index its image's labels.

    Checked at parse time for the atlas files that exist (a file of the resources folder
    not fetched yet is checked by the parcellation job instead); nibabel is imported only
    when an atlas has both a labels table and an image.

    Raises
    ------
    ValueError
        Naming both files and the config key ``fmri.atlases.<name>.labels``.
    """
    from pathlib import Path

    for name, atlas in atlases.items():
        labels = (atlas or {}).get("labels")
        images = [atlas[k] for k in ("path", "left", "right") if atlas.get(k)]
        if not labels or not images or not all(Path(p).is_file() for p in [labels, *images]):
            continue
        import numpy as np

        from neuroflow.fmri.atlases import _read_surface_labels, check_label_table
        from neuroflow.fmri.pipeline import load_atlas_names

        names = load_atlas_names(labels)
        if atlas.get("path"):
            import nibabel as nib

            values = np.unique(np.asarray(nib.load(atlas["path"]).dataobj).round())
            check_label_table(values, names, labels, atlas["path"], name)
        elif atlas.get("left") and atlas.get("right"):
            values = np.concatenate([_read_surface_labels(atlas[k])[0] for k in ("left", "right")])
            check_label_table(values, names, labels, f"{atlas['left']} / {atlas['right']}", name)


def fmri_index(config: dict):
    """The run index of the config (a DataFrame, one row per run; see ``build_index``).

    Files of the resources folder (fetched by a rule) may be missing yet; every other file
    must exist.

    Raises
    ------
    ValueError (neuroflow.bids.BIDSInputError for the derivatives folders)
        Naming the file and the config key.
    """
    from neuroflow.fmri.index import build_index

    _check_moved_keys(config["fmri"])
    check_atlas_tables(config["fmri"].get("atlases") or {})
    args = index_arguments(config)
    index = build_index(**args, missing_ok_under=args["resources_dest"])
    if index.empty:
        folders = list(args["derivatives"].derivatives) if args["derivatives"] else []
        raise BIDSInputError("config keys fmri.sample_sheet / derivatives: the fMRI stage is "
                             f"activated but finds no run (sample sheet "
                             f"{args['sample_sheet'] or 'none'}, derivatives folders {folders})")
    return index


def check_fmri_inputs(config: dict):
    """Check the fMRI inputs before any job; return the run index (None when fmri is off)."""
    if not (config.get("fmri") or {}).get("activate"):
        return None
    return fmri_index(config)
