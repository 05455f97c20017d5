"""The PyMVPA Haxby 2001 files as a small BIDS + fMRIPrep-like tree, so that the demo runs
through the task-fMRI route (:mod:`neuroflow.rsa.taskfmri`) like a user's cohort."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neuroflow.io.haxby import read_haxby
from neuroflow.provenance import write_json
from neuroflow.rsa.rdm import block_events


def haxby_to_bids(
    bold,
    mask,
    attributes,
    out_root,
    *,
    subject: str = "1",
    task: str = "objectviewing",
    baseline: str = "rest",
    space: str = "native",
) -> None:
    """Write the PyMVPA Haxby 2001 files as a small BIDS + fMRIPrep-like tree.

    ``out_root/bids``: ``dataset_description.json`` and one ``events.tsv`` per run (blocks
    of the attributes table; ``baseline`` blocks left out). ``out_root/derivatives``: per
    run the BOLD volumes (``space-<space>_desc-preproc_bold.nii.gz`` with its JSON sidecar,
    ``RepetitionTime``) and the mask (``desc-brain_mask``). ``out_root/atlas_dseg.nii.gz``
    (+ ``.tsv``): the mask as one region. No confounds: the tutorial data has none.
    """
    import nibabel as nib

    _, labels, runs, _, tr = read_haxby(bold, mask, attributes)
    img, mask_img = nib.load(bold), nib.load(mask)
    data = np.asanyarray(img.dataobj)
    mdata = (np.asanyarray(mask_img.dataobj) > 0).reshape(data.shape[:3]).astype(np.uint8)
    root = Path(out_root)
    raw, deriv = root / "bids", root / "derivatives"
    write_json(
        {
            "Name": "Haxby et al. 2001 subject 1 (PyMVPA tutorial data)",
            "BIDSVersion": "1.9.0",
            "DatasetType": "raw",
            "GeneratedBy": [{"Name": "neuroflow haxby_to_bids"}],
        },
        raw / "dataset_description.json",
    )
    write_json(
        {
            "Name": "Haxby 2001 subject 1, BOLD split into runs (not preprocessed "
            "further than PyMVPA's tutorial data)",
            "BIDSVersion": "1.9.0",
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "neuroflow haxby_to_bids"}],
        },
        deriv / "dataset_description.json",
    )
    sub = f"sub-{subject}"
    (raw / sub / "func").mkdir(parents=True, exist_ok=True)
    (deriv / sub / "func").mkdir(parents=True, exist_ok=True)
    for i, run in enumerate(np.unique(runs), start=1):
        sel = runs == run
        name = f"{sub}_task-{task}_run-{i}"
        block_events(labels[sel], tr, baseline).to_csv(
            raw / sub / "func" / f"{name}_events.tsv", sep="\t", index=False
        )
        out = deriv / sub / "func" / f"{name}_space-{space}_desc-preproc_bold.nii.gz"
        run_img = nib.Nifti1Image(data[..., sel], img.affine, img.header)
        nib.save(run_img, out)
        write_json(
            {"RepetitionTime": tr, "TaskName": task, "Sources": [Path(bold).name, Path(attributes).name]},
            str(out).replace(".nii.gz", ".json"),
        )
        nib.save(
            nib.Nifti1Image(mdata, mask_img.affine),
            deriv / sub / "func" / f"{name}_space-{space}_desc-brain_mask.nii.gz",
        )
    nib.save(nib.Nifti1Image(mdata.astype(np.int16), mask_img.affine), root / "atlas_dseg.nii.gz")
    pd.DataFrame({"index": [1], "name": ["mask"]}).to_csv(root / "atlas_dseg.tsv", sep="\t", index=False)
