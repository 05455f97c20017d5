"""Bench: fMRI parcellation, neuroflow vs nilearn called directly, file to file for both.

Parcellation (the parcellation step of the rule ``fmri_subject``: run file(s) + atlas ->
region time series TSV + JSON sidecar) against nilearn's label masker on the same files
(file -> array):

* volume: a SIMULATED 4D NIfTI (float32, 40 x 48 x 40 voxels x 200 volumes, gzipped; zero
  outside a spherical "brain") with a 100-region block atlas; reference
  ``NiftiLabelsMasker(labels_img=<file>).fit_transform(<file>)``;
* surface: the real LEMON run (fsaverage5, two MGZ files, 652 volumes) with Schaefer 100 on
  fsaverage5; reference ``SurfaceLabelsMasker`` on a ``SurfaceImage`` built from the two
  MGZ files and the two GIfTI label files (same non-constant-vertex mask).

Then the whole chain on LEMON (run_confounds + run_parcellate + run_denoise, file to file)
against ``SurfaceLabelsMasker.fit_transform(img, confounds)`` from the files. Each time is the
best of ``--repeat`` runs (one thread); the largest absolute difference of the outputs is
printed with each ratio.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_fmri.py [--atlas 100|400] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CLEAN = {
    "detrend": True,
    "standardize": "zscore_sample",
    "standardize_confounds": True,
    "filter": "butterworth",
    "low_pass": None,
    "high_pass": None,
}
TARGET = 1.2


def best_of(fn, repeat: int):
    """(result, best wall time in s) of ``repeat`` calls."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times)


def simulated_volume(folder: Path, shape=(40, 48, 40), n_volumes=200, n_regions=100):
    """A SIMULATED BOLD NIfTI and a block atlas on its grid: (bold path, atlas path)."""
    import nibabel as nib

    rng = np.random.default_rng(0)
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    grid = np.indices(shape).astype(float)
    centre = (np.array(shape, dtype=float)[:, None, None, None] - 1) / 2
    brain = (((grid - centre) / centre * 1.05) ** 2).sum(axis=0) <= 1.0
    side = int(round((brain.sum() / n_regions) ** (1 / 3)))
    blocks = (grid // side).astype(int)
    block_id = blocks[0] * 10_000 + blocks[1] * 100 + blocks[2]
    ids = np.unique(block_id[brain])
    lab = np.zeros(shape, dtype=np.int16)
    lab[brain] = (np.searchsorted(ids, block_id[brain]) % n_regions) + 1
    data = np.zeros(shape + (n_volumes,), dtype=np.float32)
    data[brain] = 1000 + rng.standard_normal((int(brain.sum()), n_volumes)).astype(np.float32) * 10
    bold, atlas = folder / "sub-sim_task-rest_bold.nii.gz", folder / "atlas_dseg.nii.gz"
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = 2.0
    nib.save(img, bold)
    nib.save(nib.Nifti1Image(lab, affine), atlas)
    return bold, atlas


def bench_volume(tmp: Path, repeat: int) -> None:
    from nilearn.maskers import NiftiLabelsMasker

    from neuroflow.fmri import pipeline as P

    bold, atlas = simulated_volume(tmp)
    row = {
        "kind": "volume",
        "stem": "sub-sim_task-rest",
        "bold": str(bold),
        "bold_rh": "",
        "bold_json": "",
        "t_r": "",
        "t_r_source": "header",
        "space": "sim",
        "den": "",
    }

    def ours():
        P.run_parcellate(row, "blocks", {"space": "sim", "path": str(atlas)}, tmp / "vol.tsv")
        return pd.read_csv(tmp / "vol.tsv", sep="\t").to_numpy()

    def reference():
        masker = NiftiLabelsMasker(labels_img=str(atlas), strategy="mean", dtype="float64")
        return masker.fit_transform(str(bold))

    mine, t_ours = best_of(ours, repeat)
    ref, t_ref = best_of(reference, repeat)
    _line(
        "volume: simulated NIfTI 40x48x40 x 200, 100 regions",
        "NiftiLabelsMasker(file)",
        t_ours,
        t_ref,
        mine,
        ref,
    )


def _lemon(args):
    from neuroflow.fmri.index import read_sample_sheet
    from neuroflow.resources import fetch_dataset, load_manifest

    fetch_dataset(
        load_manifest(ROOT / "resources/datasets.yaml"), "lemon_fsaverage5", ROOT / "resources/data"
    )
    row = (
        read_sample_sheet(ROOT / "resources/fmri/demo_runs.tsv", str(ROOT / "resources/data"))
        .iloc[0]
        .to_dict()
    )
    row["stem"] = "sub-010188_ses-02_task-rest_acq-AP_run-01_space-fsaverage5"
    tpl = str(
        ROOT / "resources/fmri/atlases/tpl-fsaverage_hemi-{h}_den-10k_atlas-Schaefer2018_"
        "desc-{n}Parcels_dseg.label.gii"
    )
    atlas = {
        "space": "fsaverage5",
        "left": tpl.format(h="L", n=args.atlas),
        "right": tpl.format(h="R", n=args.atlas),
    }
    return row, atlas


def _surface_masker(row, atlas, **kwargs):
    """nilearn from the files: (SurfaceLabelsMasker, SurfaceImage of the run)."""
    from nilearn.datasets import load_fsaverage
    from nilearn.maskers import SurfaceLabelsMasker
    from nilearn.surface import SurfaceImage

    mesh = load_fsaverage("fsaverage5")["pial"]
    img = SurfaceImage(mesh, {"left": row["bold"], "right": row["bold_rh"]})
    labels = SurfaceImage(mesh, {"left": atlas["left"], "right": atlas["right"]})
    data = {h: np.asarray(img.data.parts[h]) for h in ("left", "right")}
    mask = SurfaceImage(mesh, {h: (d.max(axis=1) > d.min(axis=1)) for h, d in data.items()})
    return SurfaceLabelsMasker(labels_img=labels, mask_img=mask, **kwargs), img


def bench_surface(tmp: Path, args) -> None:
    from neuroflow.fmri import pipeline as P

    row, atlas = _lemon(args)

    def ours():
        P.run_parcellate(row, "schaefer", atlas, tmp / "raw.tsv")
        return pd.read_csv(tmp / "raw.tsv", sep="\t").to_numpy()

    def reference():
        masker, img = _surface_masker(row, atlas)
        return masker.fit_transform(img)

    mine, t_ours = best_of(ours, args.repeat)
    ref, t_ref = best_of(reference, args.repeat)
    _line(
        f"surface: LEMON fsaverage5 (2 MGZ) x 652, Schaefer {args.atlas}",
        "SurfaceLabelsMasker(files)",
        t_ours,
        t_ref,
        mine,
        ref,
    )

    strategy = {"loader": "columns", "options": {}, **CLEAN}

    def ours_chain():
        P.run_confounds(row, "provided", strategy, 0.5, 4.0, tmp / "r.tsv")
        P.run_parcellate(row, "schaefer", atlas, tmp / "raw.tsv")
        P.run_denoise(tmp / "raw.tsv", tmp / "r.tsv", "provided", strategy, tmp / "ts.tsv")
        return pd.read_csv(tmp / "ts.tsv", sep="\t").to_numpy()

    def reference_chain():
        kw = {k: v for k, v in CLEAN.items() if k != "filter"}
        masker, img = _surface_masker(row, atlas, t_r=1.4, **kw)
        return masker.fit_transform(img, confounds=np.loadtxt(row["confounds"]))

    mine, t_ours = best_of(ours_chain, args.repeat)
    ref, t_ref = best_of(reference_chain, args.repeat)
    _line(
        "chain on LEMON: confounds + parcellate + denoise (29 regressors)",
        "SurfaceLabelsMasker(files, confounds)",
        t_ours,
        t_ref,
        mine,
        ref,
    )


def _line(what: str, ref_name: str, t_ours: float, t_ref: float, mine, ref) -> None:
    diff = float(np.max(np.abs(mine - ref))) if mine.shape == ref.shape else float("nan")
    ratio = t_ours / t_ref
    print(
        f"{what}\n  neuroflow (file -> TSV + JSON) {t_ours:7.3f} s | nilearn {ref_name} "
        f"{t_ref:7.3f} s | ratio {ratio:5.2f} ({'<=' if ratio <= TARGET else '>'} {TARGET}) | "
        f"max |diff| {diff:.1e} | shape {mine.shape}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atlas", type=int, default=100, choices=(100, 200, 300, 400))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)
    print(
        f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; load: "
        + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    )
    with tempfile.TemporaryDirectory() as tmp:
        bench_volume(Path(tmp), args.repeat)
        bench_surface(Path(tmp), args)
    print("load after: " + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
