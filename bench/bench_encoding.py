"""Benchmark of the encoding stage's ridge fits: numpy vs himalaya (numpy, torch, torch_cuda).

One problem, solved by every method on the same data and the same 5-fold CV of the
regularisation (one alpha per target from a shared grid), then refit on all training
samples and evaluated on held-out samples:

  numpy           hand-written ridge in numpy/scipy: SVD of each training fold, held-out
                  predictions for every alpha as (X_test V) diag(s / (s^2 + alpha)) (U^T Y),
                  per-target alpha, refit (the textbook algorithm, float64);
  sklearn         scikit-learn RidgeCV(alpha_per_target=True) - efficient leave-one-out
                  (GCV) instead of 5-fold, the usual library reference;
  himalaya-numpy  himalaya RidgeCV, numpy backend (float64) - what the pipeline runs on CPU;
  himalaya-torch  himalaya RidgeCV, torch backend on the CPU (float32);
  himalaya-torch_cuda  the same on a GPU, when torch sees one (float32).

Each method runs in a fresh subprocess: printed are the wall time of the fit, the peak
resident memory the fit added (Linux: peak-RSS mark reset just before the fit, VmHWM minus
the RSS at that moment; elsewhere the process's ru_maxrss), time and memory ratios against
himalaya-numpy, the mean held-out correlation over targets, and the largest difference of
its held-out predictions from himalaya-numpy's (accuracy: ~1e-10 for float64 methods with
the same CV; sklearn differs by its LOO choice of alpha).

Usage:
  python bench/bench_encoding.py                 # 1,000 targets x 2,000 samples x 500 features
  python bench/bench_encoding.py --targets 10000 # the issue's size (minutes on 2 busy cores)
  options: --samples N --features N --alphas N --threads N --methods a,b,...
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = ("numpy", "sklearn", "himalaya-numpy", "himalaya-torch", "himalaya-torch_cuda")


def make_problem(n_targets: int, n_samples: int, n_features: int, seed: int = 0):
    """Seeded regression problem: 80 % training / 20 % held-out samples."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    W = rng.standard_normal((n_features, n_targets)) * rng.uniform(0, 0.1, n_targets)
    Y = X @ W + rng.standard_normal((n_samples, n_targets))
    n_train = int(0.8 * n_samples)
    return X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]


def _folds(n: int, k: int = 5):
    from sklearn.model_selection import KFold

    return list(KFold(k).split(np.zeros(n)))


def fit_numpy(Xtr, Ytr, Xte, alphas):
    """Hand-written 5-fold CV ridge (intercept by centring), per-target alpha, refit."""
    from scipy.linalg import svd

    scores = np.zeros((len(alphas), Ytr.shape[1]))
    for tr, va in _folds(len(Xtr)):
        xm, ym = Xtr[tr].mean(0), Ytr[tr].mean(0)
        U, s, Vt = svd(Xtr[tr] - xm, full_matrices=False)
        UtY = U.T @ (Ytr[tr] - ym)
        XV = (Xtr[va] - xm) @ Vt.T
        for a, alpha in enumerate(alphas):
            pred = XV @ ((s / (s**2 + alpha))[:, None] * UtY) + ym
            scores[a] -= ((Ytr[va] - pred) ** 2).mean(0)
    best = np.asarray(alphas)[scores.argmax(0)]
    xm, ym = Xtr.mean(0), Ytr.mean(0)
    U, s, Vt = svd(Xtr - xm, full_matrices=False)
    UtY = U.T @ (Ytr - ym)
    XV = (Xte - xm) @ Vt.T
    out = np.empty((len(Xte), Ytr.shape[1]))
    for alpha in np.unique(best):
        sel = best == alpha
        out[:, sel] = XV @ ((s / (s**2 + alpha))[:, None] * UtY[:, sel]) + ym[sel]
    return out


def fit_sklearn(Xtr, Ytr, Xte, alphas):
    from sklearn.linear_model import RidgeCV

    return RidgeCV(alphas=alphas, alpha_per_target=True).fit(Xtr, Ytr).predict(Xte)


def fit_himalaya(Xtr, Ytr, Xte, alphas, backend):
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV

    b = set_backend(backend, on_error="raise")
    dtype = "float64" if backend == "numpy" else "float32"
    model = RidgeCV(alphas=np.asarray(alphas), fit_intercept=True, cv=_folds(len(Xtr)),
                    solver_params={"warn": False})
    model.fit(Xtr.astype(dtype), Ytr.astype(dtype))
    pred = b.to_numpy(model.predict(Xte.astype(dtype)))
    if backend == "torch_cuda":
        import torch

        torch.cuda.synchronize()
    return np.asarray(pred, dtype=float)


def worker(method: str, args, out_path: str) -> None:
    """Run one method; write its held-out predictions and a JSON record."""
    import himalaya.ridge  # noqa: F401  (threadpoolctl limits only libraries already loaded)
    import scipy.linalg  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    Xtr, Ytr, Xte, _ = make_problem(args.targets, args.samples, args.features)
    alphas = list(np.logspace(-1, 5, args.alphas))
    extra = {}
    with threadpool_limits(args.threads):
        if method.startswith("himalaya-torch"):
            import torch

            torch.set_num_threads(args.threads)
            if method.endswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
                extra["device_name"] = torch.cuda.get_device_name(0)
        base = _reset_peak_rss()
        t0 = time.perf_counter()
        if method == "numpy":
            pred = fit_numpy(Xtr, Ytr, Xte, alphas)
        elif method == "sklearn":
            pred = fit_sklearn(Xtr, Ytr, Xte, alphas)
        else:
            pred = fit_himalaya(Xtr, Ytr, Xte, alphas, method.split("-", 1)[1])
        seconds = time.perf_counter() - t0
    if method.endswith("cuda"):
        import torch

        extra["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    peak = _status_mib("VmHWM")
    np.save(out_path, pred)
    rss = peak - base if base is not None and peak is not None else (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps({"seconds": seconds, "peak_rss_mib": rss, **extra}))


def _status_mib(field: str):
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak_rss():
    """Reset the kernel's peak-RSS mark (Linux clear_refs 5); return the current RSS (MiB)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return _status_mib("VmRSS")


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--features", type=int, default=500)
    ap.add_argument("--alphas", type=int, default=9)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", 1)))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args, args.out)
        return
    methods = [m for m in args.methods.split(",") if m]
    if "himalaya-torch_cuda" in methods and not _cuda_available():
        methods.remove("himalaya-torch_cuda")
        print("himalaya-torch_cuda: skipped (torch sees no CUDA device)")
    _, _, _, Yte = make_problem(args.targets, args.samples, args.features)
    print(f"ridge fit, 5-fold CV of {args.alphas} alphas per target + refit: {args.targets} "
          f"targets x {args.samples} samples (80 % train) x {args.features} features, "
          f"{args.threads} thread(s)")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for m in methods:
            out = str(Path(tmp) / f"{m}.npy")
            cmd = [sys.executable, __file__, "--worker", m, "--out", out,
                   *[f"--{k}={getattr(args, k)}" for k in ("targets", "samples", "features",
                                                            "alphas", "threads")]]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                print(f"{m}: failed\n{proc.stderr[-1500:]}")
                continue
            rec = json.loads(proc.stdout.strip().splitlines()[-1])
            rec["pred"] = np.load(out)
            results[m] = rec
    ref = results.get("himalaya-numpy")
    from neuroflow.encoding.ridge import correlation

    print(f"{'method':22s} {'time s':>9s} {'x hml-np':>9s} {'+RSS MiB':>9s} {'x hml-np':>9s} "
          f"{'mean r':>8s} {'max |dpred|':>12s}")
    for m, rec in results.items():
        t_ratio = rec["seconds"] / ref["seconds"] if ref else float("nan")
        m_ratio = rec["peak_rss_mib"] / ref["peak_rss_mib"] if ref else float("nan")
        diff = np.abs(rec["pred"] - ref["pred"]).max() if ref else float("nan")
        r = np.nanmean(correlation(Yte, rec["pred"]))
        extra = (f"  ({rec['device_name']}, peak GPU {rec['peak_gpu_mib']:.0f} MiB)"
                 if "device_name" in rec else "")
        print(f"{m:22s} {rec['seconds']:9.2f} {t_ratio:9.2f} {rec['peak_rss_mib']:9.0f} "
              f"{m_ratio:9.2f} {r:8.4f} {diff:12.2e}{extra}")
    if "numpy" in results and ref:
        print(f"numpy / himalaya-numpy time ratio: "
              f"{results['numpy']['seconds'] / ref['seconds']:.2f}")
    if "himalaya-torch" in results and ref:
        print(f"himalaya-torch (CPU) / himalaya-numpy time ratio: "
              f"{results['himalaya-torch']['seconds'] / ref['seconds']:.2f}")


if __name__ == "__main__":
    main()
