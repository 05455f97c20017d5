"""Benchmark of the encoding stage's ridge fits: numpy vs himalaya (numpy, torch, torch_cuda).

One problem, solved by every method on the same data and the same 5-fold CV of the
regularisation (one alpha per target from a shared grid), then refit on all training
samples and evaluated on held-out samples:

  neuroflow       the pipeline's ridge estimator on the CPU (neuroflow.encoding.ridge.
                  make_estimator('ridge') under the numpy backend: SVDRidgeCV, float64);
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

Statistics (``--statistics``, issue 18 item 7; ~1 min): on pure-noise sets (three runs of
unequal length, autocorrelated features with FIR lags and autocorrelated noise targets,
grouped 5-fold CV) the fraction of raw p < 0.05, the KS test of uniformity, the sets with
any FDR-0.05 rejection and the mean correlation of the fold scores, for each null mode; and
the banded-ridge band weights and held-out explained variance per band at several numbers of
random-search samples on three bands with a known 0.8 / 0 / 0.2 share of the signal.

Usage:
  python bench/bench_encoding.py                 # 1,000 targets x 2,000 samples x 500 features
  python bench/bench_encoding.py --targets 10000 # issue 19's size: 2,000 x 500 x 10,000
  python bench/bench_encoding.py --statistics    # null calibration and band ranking
  options: --samples N --features N --alphas N --threads N --methods a,b,...
           --sets N (statistics: noise sets) --shifts N (statistics: shifts per null)
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

METHODS = ("neuroflow", "numpy", "sklearn", "himalaya-numpy", "himalaya-torch", "himalaya-torch_cuda")
#: What the pipeline's ridge must not be slower than (issue 19 item 4).
REFERENCES = ("numpy", "himalaya-numpy", "himalaya-torch", "himalaya-torch_cuda")


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


def fit_neuroflow(Xtr, Ytr, Xte, alphas):
    """The estimator the pipeline builds for model 'ridge' on the CPU, same 5 folds."""
    from neuroflow.encoding.device import himalaya_backend
    from neuroflow.encoding.ridge import make_estimator

    with himalaya_backend("numpy"):
        model = make_estimator("ridge", alphas, _folds(len(Xtr)))
        return np.asarray(model.fit(Xtr, Ytr).predict(Xte), dtype=float)


def fit_sklearn(Xtr, Ytr, Xte, alphas):
    from sklearn.linear_model import RidgeCV

    return RidgeCV(alphas=alphas, alpha_per_target=True).fit(Xtr, Ytr).predict(Xte)


def fit_himalaya(Xtr, Ytr, Xte, alphas, backend):
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV

    b = set_backend(backend, on_error="raise")
    dtype = "float64" if backend == "numpy" else "float32"
    model = RidgeCV(
        alphas=np.asarray(alphas), fit_intercept=True, cv=_folds(len(Xtr)), solver_params={"warn": False}
    )
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
        elif method == "neuroflow":
            pred = fit_neuroflow(Xtr, Ytr, Xte, alphas)
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
    rss = (
        peak - base
        if base is not None and peak is not None
        else (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    )
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


def _noise_set(seed: int, n_targets: int = 40):
    from neuroflow.encoding import ridge
    from neuroflow.encoding.simulate import pure_noise_set

    X, Y, runs, blocks = pure_noise_set(seed, n_targets)
    fit = ridge.cross_validated_fit(
        X, Y, blocks, model="ridge", alphas=np.logspace(-1, 5, 7), n_folds=5, n_inner_folds=3
    )
    return X, Y, runs, fit


def bench_calibration(n_sets: int, n_shifts: int) -> None:
    """Null calibration on pure noise: every mode of neuroflow.encoding.permutation."""
    from scipy.stats import kstest

    from neuroflow.encoding import permutation

    modes = ("refit_fixed", "predictions", "refit")
    p = {m: [] for m in modes}
    rejected = dict.fromkeys(modes, 0)
    seconds = dict.fromkeys(modes, 0.0)
    fold_corr = []
    for seed in range(n_sets):
        X, Y, runs, fit = _noise_set(seed)
        r = np.nanmean(fit["r"], axis=0)
        fold_corr.append(np.corrcoef(fit["r"])[np.triu_indices(5, 1)].mean())
        for mode in modes:
            n = n_shifts if mode != "refit" else max(50, n_shifts // 3)
            kw = {"model": "ridge", "alphas": np.logspace(-1, 5, 7), "n_folds": 5, "n_inner_folds": 3}
            t0 = time.perf_counter()
            null, _ = permutation.shift_null(
                mode, X, Y, runs, fit, n_permutations=n, min_shift=20, random_state=seed, refit_kwargs=kw
            )
            seconds[mode] += time.perf_counter() - t0
            pv, p_fdr = permutation.empirical_p(r, null)
            p[mode].append(pv)
            rejected[mode] += bool((p_fdr < 0.05).any())
    print(
        f"pure noise: {n_sets} sets x 40 targets; mean correlation of fold scores {np.mean(fold_corr):+.3f}"
    )
    print(
        f"{'null mode':12s} {'shifts':>6s} {'raw p<.05':>9s} {'KS p':>9s} "
        f"{'sets w/ FDR rej':>15s} {'s/set':>7s}"
    )
    for mode in modes:
        pv = np.concatenate(p[mode])
        n = n_shifts if mode != "refit" else max(50, n_shifts // 3)
        print(
            f"{mode:12s} {n:6d} {np.mean(pv < 0.05):9.3f} {kstest(pv, 'uniform').pvalue:9.2g} "
            f"{rejected[mode]:8d} of {n_sets:<4d} {seconds[mode] / n_sets:7.2f}"
        )


def bench_band_ranking(n_iters=(32, 100, 200, 300)) -> None:
    """Band weights and split R^2 against a known 0.8 / 0 / 0.2 share of the signal."""
    from neuroflow.encoding import ridge

    print("banded ridge, bands a/b/c of 10 features, signal variance 0.8 / 0 / 0.2:")
    print(
        f"{'n_iter':>6s} {'seed':>4s} {'weights a/b/c':>22s} {'split R2 a/b/c':>24s} "
        f"{'ranked right':>12s} {'s':>6s}"
    )
    for n_iter in n_iters:
        for seed in range(3):
            rng = np.random.default_rng(seed)
            Xs = [rng.standard_normal((360, 10)) for _ in range(3)]
            sig = [x @ rng.standard_normal((10, 6)) for x in (Xs[0], Xs[2])]
            sig = [v / v.std(axis=0) for v in sig]
            Y = np.sqrt(0.8) * sig[0] + np.sqrt(0.2) * sig[1] + rng.standard_normal((360, 6))
            t0 = time.perf_counter()
            fit = ridge.cross_validated_fit(
                np.hstack(Xs),
                Y,
                np.repeat(np.arange(6), 60),
                model="banded_ridge",
                bands=np.repeat(list("abc"), 10),
                alphas=np.logspace(-1, 5, 7),
                n_folds=3,
                n_inner_folds=3,
                n_iter=n_iter,
                random_state=0,
            )
            w = fit["band_weight"].mean(axis=(0, 2))
            v = np.nanmean(fit["band_r2"], axis=0).mean(axis=1)
            right = bool(w[0] > w[2] > w[1])
            print(
                f"{n_iter:6d} {seed:4d} {'/'.join(f'{x:.3f}' for x in w):>22s} "
                f"{'/'.join(f'{x:.3f}' for x in v):>24s} {str(right):>12s} "
                f"{time.perf_counter() - t0:6.2f}"
            )


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
    ap.add_argument("--statistics", action="store_true")
    ap.add_argument("--sets", type=int, default=20)
    ap.add_argument("--shifts", type=int, default=200)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args, args.out)
        return
    if args.statistics:
        from threadpoolctl import threadpool_limits

        print(f"load: {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1/5/15 min)")
        import himalaya.ridge  # noqa: F401  (threadpoolctl limits only loaded libraries)

        with threadpool_limits(args.threads):
            bench_calibration(args.sets, args.shifts)
            bench_band_ranking()
        return
    methods = [m for m in args.methods.split(",") if m]
    if "himalaya-torch_cuda" in methods and not _cuda_available():
        methods.remove("himalaya-torch_cuda")
        print("himalaya-torch_cuda: skipped (torch sees no CUDA device)")
    _, _, _, Yte = make_problem(args.targets, args.samples, args.features)
    print(
        f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
        f"(1/5/15 min; rerun on an idle machine for the figures)"
    )
    print(
        f"ridge fit, 5-fold CV of {args.alphas} alphas per target + refit: {args.targets} "
        f"targets x {args.samples} samples (80 % train) x {args.features} features, "
        f"{args.threads} thread(s)"
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for m in methods:
            out = str(Path(tmp) / f"{m}.npy")
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                m,
                "--out",
                out,
                *[
                    f"--{k}={getattr(args, k)}"
                    for k in ("targets", "samples", "features", "alphas", "threads")
                ],
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                print(f"{m}: failed\n{proc.stderr[-1500:]}")
                continue
            rec = json.loads(proc.stdout.strip().splitlines()[-1])
            rec["pred"] = np.load(out)
            results[m] = rec
    ref = results.get("himalaya-numpy")
    from neuroflow.encoding.ridge import correlation

    print(
        f"{'method':22s} {'time s':>9s} {'x hml-np':>9s} {'+RSS MiB':>9s} {'x hml-np':>9s} "
        f"{'mean r':>8s} {'max |dpred|':>12s}"
    )
    for m, rec in results.items():
        t_ratio = rec["seconds"] / ref["seconds"] if ref else float("nan")
        m_ratio = rec["peak_rss_mib"] / ref["peak_rss_mib"] if ref else float("nan")
        diff = np.abs(rec["pred"] - ref["pred"]).max() if ref else float("nan")
        r = np.nanmean(correlation(Yte, rec["pred"]))
        extra = (
            f"  ({rec['device_name']}, peak GPU {rec['peak_gpu_mib']:.0f} MiB)"
            if "device_name" in rec
            else ""
        )
        print(
            f"{m:22s} {rec['seconds']:9.2f} {t_ratio:9.2f} {rec['peak_rss_mib']:9.0f} "
            f"{m_ratio:9.2f} {r:8.4f} {diff:12.2e}{extra}"
        )
    refs = {m: results[m]["seconds"] for m in REFERENCES if m in results}
    if "neuroflow" in results and refs:
        fastest = min(refs, key=refs.get)
        print(
            f"neuroflow / fastest reference ({fastest}) time ratio: "
            f"{results['neuroflow']['seconds'] / refs[fastest]:.2f} (target <= 1)"
        )
    if "numpy" in results and ref:
        print(f"numpy / himalaya-numpy time ratio: {results['numpy']['seconds'] / ref['seconds']:.2f}")
    if "himalaya-torch" in results and ref:
        print(
            f"himalaya-torch (CPU) / himalaya-numpy time ratio: "
            f"{results['himalaya-torch']['seconds'] / ref['seconds']:.2f}"
        )


if __name__ == "__main__":
    main()
