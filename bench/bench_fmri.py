"""Bench: the fMRI stage on the real LEMON run (fsaverage5, 652 volumes) vs nilearn directly.

neuroflow: run_confounds + run_parcellate + run_denoise (file to file, as the rules do; the
region extraction is shared across strategies, so a second strategy costs only the denoise).
Reference: nilearn's SurfaceLabelsMasker(...).fit_transform(img, confounds) on the same
in-memory surface image (same atlas, same non-constant-vertex mask, same cleaning).
Prints seconds, peak traced memory (tracemalloc) and the largest absolute difference.

    /tmp/venv/bin/python bench/bench_fmri.py [--atlas 100|400]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_homogenize import measure as _measure  # noqa: E402  (timed run + tracemalloc run)

CLEAN = {"detrend": True, "standardize": "zscore_sample", "standardize_confounds": True,
         "filter": "butterworth", "low_pass": None, "high_pass": None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atlas", type=int, default=100, choices=(100, 200, 300, 400))
    args = ap.parse_args()

    from nilearn.datasets import load_fsaverage
    from nilearn.maskers import SurfaceLabelsMasker
    from nilearn.surface import SurfaceImage

    from neuroflow.fmri import pipeline as P
    from neuroflow.fmri.atlases import load_surface_atlas
    from neuroflow.fmri.images import load_bold
    from neuroflow.fmri.index import read_sample_sheet
    from neuroflow.resources import fetch_dataset, load_manifest

    manifest = load_manifest(ROOT / "resources/datasets.yaml")
    fetch_dataset(manifest, "lemon_fsaverage5", ROOT / "resources/data")
    row = read_sample_sheet(ROOT / "resources/fmri/demo_runs.tsv", str(ROOT / "resources/data")).iloc[0]
    row = row.to_dict()
    row["stem"] = "sub-010188_ses-02_task-rest_acq-AP_run-01_space-fsaverage5"
    atlas_tpl = str(ROOT / "resources/fmri/atlases/tpl-fsaverage_hemi-{h}_den-10k_atlas-Schaefer2018_"
                    "desc-{n}Parcels_dseg.label.gii")
    atlas = {"space": "fsaverage5", "left": atlas_tpl.format(h="L", n=args.atlas),
             "right": atlas_tpl.format(h="R", n=args.atlas)}
    strategy = {"loader": "columns", "options": {}, **CLEAN}

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def ours():
            P.run_confounds(row, "provided", strategy, 0.5, 4.0, tmp / "r.tsv")
            P.run_parcellate(row, "schaefer", atlas, tmp / "raw.tsv")
            P.run_denoise(tmp / "raw.tsv", tmp / "r.tsv", "provided", strategy, tmp / "ts.tsv")
            return pd.read_csv(tmp / "ts.tsv", sep="\t").to_numpy()

        mine, t_ours, m_ours = _measure(ours)

        bold = load_bold(row["bold"], row["bold_rh"], "", row["t_r"], "sheet", "fsaverage5")
        conf = np.loadtxt(row["confounds"])
        left, right, _ = load_surface_atlas(atlas["left"], atlas["right"])
        n = left.size
        mesh = load_fsaverage("fsaverage5")["pial"]
        mask = bold.data.std(axis=1) > 0

        def reference():
            img = SurfaceImage(mesh, {"left": bold.data[:n], "right": bold.data[n:]})
            labels = SurfaceImage(mesh, {"left": left.astype(float), "right": right.astype(float)})
            mask_img = SurfaceImage(mesh, {"left": mask[:n], "right": mask[n:]})
            kw = {k: v for k, v in CLEAN.items() if k != "filter"}
            masker = SurfaceLabelsMasker(labels_img=labels, mask_img=mask_img, t_r=bold.t_r, **kw)
            return masker.fit_transform(img, confounds=conf)

        ref, t_ref, m_ref = _measure(reference)

    diff = float(np.max(np.abs(mine - ref)))
    print(f"LEMON sub-010188, fsaverage5, 652 volumes, Schaefer {args.atlas}, 29 regressors")
    print(f"{'':28s}{'seconds':>10s}{'peak MiB':>10s}")
    print(f"{'neuroflow (files, 3 steps)':28s}{t_ours:10.2f}{m_ours:10.1f}")
    print(f"{'nilearn SurfaceLabelsMasker':28s}{t_ref:10.2f}{m_ref:10.1f}")
    print(f"ratio neuroflow / nilearn: time {t_ours / t_ref:.2f}, memory {m_ours / m_ref:.2f}")
    print(f"max |neuroflow - nilearn| = {diff:.2e} (z-scored units; {mine.shape[1]} regions)")


if __name__ == "__main__":
    main()
