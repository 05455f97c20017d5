"""Benchmark of the topological-RSA statistics, side by side with rsatoolbox 0.3.2.

Prints, from one run:
  0. the geodesic transform alone (issue 19: >= 10x rsatoolbox with identical values) at
     60, 400 and 1,000 conditions: ms per RDM for ours (geodesic_distances, one RDM: the
     pruned exact shortest paths of neuroflow.rsa._geodesic) and for rsatoolbox's
     geodesic_transform (networkx Floyd-Warshall) on the same RGTM, their ratio and the
     largest absolute difference of the distances (and whether the disconnected pairs
     agree), for two RDM shapes (10-d Gaussian points; a noisy ring, whose geodesics take
     many hops) and three (l, u); best of 3 runs each, machine load printed;
  1. seconds (and peak MiB) per RDM comparison at 100 and 1,000 conditions: two random
     RDMs are transformed into a statistic and compared (Pearson r); ours (a
     NumPy RGTM with per-RDM quantiles + batched Floyd-Warshall geodesics, scipy csgraph
     above 200 conditions) against rsatoolbox (rank + minmax + geotopological_transform per
     RDM; geodesic_transform = networkx Floyd-Warshall on the same RGTM + rank), as ratios
     ours / rsatoolbox, and the accuracy: the largest absolute difference of the transformed
     vectors and of r (zero_edges="drop" reproduces rsatoolbox's graph; the RGTM rows differ
     by rsatoolbox 0.3.2's in-place clip of ramp values above the upper quantile);
  2. leave-one-subject-out identification of the simulated network layers: our
     nearest-centroid against scikit-learn's NearestCentroid (the authors' classifier):
     seconds per identification, and whether the accuracies agree;
  3. wall time of the stage's default demo through Snakemake (--cores 2), warm cache.

Usage: python bench/bench_trsa.py [--skip-1000] [--skip-demo] [--geodesic-only]
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from neuroflow.rsa.transforms import Statistic, apply_statistic

STATS = [
    Statistic("rdm"),
    Statistic("rgtm", 0.45, 0.55),
    Statistic("rgdm", 0.1, 0.9),
    Statistic("rgdm", 0.0, 1.0),
]


def measure(fn):
    """Seconds and peak MiB of `fn` (bench_homogenize.measure) after a warm-up call."""
    from bench_homogenize import measure as timed_and_traced

    fn()  # imports and caches out of the timing
    out, dt, peak = timed_and_traced(fn)
    return dt, peak, out


def random_rdms(n_conditions: int, seed: int = 0) -> np.ndarray:
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_conditions, 10))
    return np.array([pdist(base + rng.normal(0, 0.5, base.shape)) for _ in range(2)])


def ours(vectors, stat):
    t = apply_statistic(vectors, stat, zero_edges="drop")
    return t, float(np.corrcoef(t)[0, 1])


def reference(vectors, stat):
    """The same statistic from rsatoolbox's functions (rank, minmax, GT per RDM, geodesic).

    For RGDM the geodesic step gets our RGTM, so that its difference measures the geodesic
    implementations only (networkx Floyd-Warshall vs ours); for RGTM the difference is
    rsatoolbox 0.3.2's in-place clipping of ramp values above the upper quantile.
    """
    from rsatoolbox.rdm import (
        RDMs,
        compare,
        geodesic_transform,
        geotopological_transform,
        minmax_transform,
        rank_transform,
    )

    from neuroflow.rsa.transforms import geotopological

    rdms = RDMs(vectors.copy())
    if stat.kind == "rgtm":
        normed = minmax_transform(rank_transform(rdms))
        rdms = RDMs(
            np.array(
                [
                    geotopological_transform(normed[i], stat.lower, stat.upper).get_vectors()[0]
                    for i in range(normed.n_rdm)
                ]
            )
        )
    elif stat.kind == "rgdm":
        gt = RDMs(geotopological(vectors, stat.lower, stat.upper))
        rdms = minmax_transform(rank_transform(geodesic_transform(gt)))
    r = float(compare(rdms[0], rdms[1], method="corr")[0, 0])
    return rdms.get_vectors(), r


def rgtm_of(design: str, n: int, lower: float, upper: float) -> np.ndarray:
    """One RGTM (1, n_pairs) of random points: 10-d Gaussian, or a noisy ring."""
    from scipy.spatial.distance import pdist

    from neuroflow.rsa.transforms import geotopological

    rng = np.random.default_rng(0)
    if design == "gauss10":
        points = rng.normal(size=(n, 10))
    else:
        angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
        points = np.c_[np.cos(angle), np.sin(angle)] + rng.normal(0, 0.05, (n, 2))
    return geotopological(pdist(points)[None], lower, upper)


def best_of(fn, repeats: int = 3):
    fn()  # compile / import / cache
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def part0(sizes):
    import os

    from rsatoolbox.rdm import RDMs, geodesic_transform

    from neuroflow.rsa.transforms import geodesic_distances

    print(
        f"0. geodesic transform, one RDM (uptime: {os.getloadavg()[0]:.2f} "
        f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} load, {os.cpu_count()} CPUs)"
    )
    print(
        f"{'n_cond':>6} {'rdm':<8} {'(l, u)':<12} {'ours ms':>9} {'rsatb ms':>9} "
        f"{'ratio':>7} {'max |diff|':>10} {'inf agree':>9}"
    )
    worst = np.inf
    for n in sizes:
        for design in ("gauss10", "ring"):
            for lower, upper in ((0.1, 0.9), (0.45, 0.55), (0.0, 1.0)):
                gt = rgtm_of(design, n, lower, upper)
                t1, ours = best_of(lambda gt=gt: geodesic_distances(gt, zero_edges="drop"))
                t2, ref = best_of(lambda gt=gt: geodesic_transform(RDMs(gt.copy())).get_vectors())
                finite = np.isfinite(ref)
                diff = float(np.max(np.abs(ours[finite] - ref[finite]), initial=0.0))
                agree = bool((np.isinf(ours) == np.isinf(ref)).all())
                worst = min(worst, t2 / t1)
                print(
                    f"{n:>6} {design:<8} {f'({lower}, {upper})':<12} {t1 * 1e3:>9.2f} "
                    f"{t2 * 1e3:>9.2f} {t2 / t1:>7.1f} {diff:>10.1e} {str(agree):>9}",
                    flush=True,
                )
    print(f"smallest ratio rsatoolbox / ours: {worst:.1f} (target >= 10)\n")


def part1(sizes):
    print("1. seconds / peak MiB per RDM comparison (2 RDMs transformed + Pearson r)")
    print(
        f"{'n_cond':>6} {'statistic':<18} {'ours s':>8} {'rsatb s':>8} {'time ratio':>10} "
        f"{'ours MiB':>8} {'rsatb MiB':>9} {'mem ratio':>9} {'max |diff|':>10} {'|dr|':>8}"
    )
    for n in sizes:
        vectors = random_rdms(n)
        for stat in STATS:
            t1, m1, (v1, r1) = measure(lambda v=vectors, s=stat: ours(v, s))
            t2, m2, (v2, r2) = measure(lambda v=vectors, s=stat: reference(v, s))
            diff = float(np.max(np.abs(v1 - v2)))
            print(
                f"{n:>6} {stat.name:<18} {t1:>8.3f} {t2:>8.3f} {t1 / t2:>10.3f} "
                f"{m1:>8.1f} {m2:>9.1f} {m1 / max(m2, 1e-9):>9.2f} {diff:>10.2e} "
                f"{abs(r1 - r2):>8.1e}",
                flush=True,
            )


def part2():
    from sklearn.neighbors import NearestCentroid

    from neuroflow.rsa.identification import _design, loo_identification
    from neuroflow.rsa.networks import simulate_network_rdms

    ds = simulate_network_rdms(
        n_instances=8,
        conv_channels=(8, 8, 16, 16),
        fc_units=(32, 32),
        epochs=6,
        learning_rate=2e-3,
        stimuli_per_class=4,
    )
    vectors, subjects, labels, _ = _design(ds["rdm"].values)

    def sklearn_loo():
        pred = np.empty_like(labels)
        for s in np.unique(subjects):
            test = subjects == s
            pred[test] = NearestCentroid().fit(vectors[~test], labels[~test]).predict(vectors[test])
        return float(np.mean(pred == labels))

    t1, m1, (acc1, _) = measure(lambda: loo_identification(vectors, subjects, labels))
    t2, m2, acc2 = measure(sklearn_loo)
    print("\n2. leave-one-instance-out identification (simulated, 8 instances x 7 layers, 40 stimuli)")
    print(
        f"ours {t1 * 1e3:.2f} ms, scikit-learn NearestCentroid {t2 * 1e3:.2f} ms, time "
        f"ratio {t1 / t2:.3f}; peak MiB {m1:.2f} vs {m2:.2f}; accuracy {acc1:.4f} vs "
        f"{acc2:.4f} ({'equal' if acc1 == acc2 else 'DIFFERENT'})"
    )


def part3():
    import yaml

    from neuroflow.devtools import copy_workflow, run_snakemake

    with tempfile.TemporaryDirectory() as tmp:
        work = copy_workflow(Path(tmp) / "w")
        default = yaml.safe_load((work / "config/config.yaml").read_text())
        cfg = {
            s: {"activate": False}
            for s, sec in default.items()
            if isinstance(sec, dict) and s not in ("resources", "trsa")
        }
        (work / "only.yaml").write_text(yaml.safe_dump(cfg))
        warm = run_snakemake(
            work,
            "--configfile",
            "only.yaml",
            "--until",
            "fetch_haxby2001_sub1",
            "fetch_pynapple_a2929_neurosuite",
        )
        if warm.returncode:
            sys.exit(f"warming the cache failed:\n{warm.stderr[-2000:]}")
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        full = run_snakemake(work, "--configfile", "only.yaml")
        dt = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        if full.returncode:
            sys.exit(f"demo failed:\n{full.stderr[-3000:]}")
        t0 = time.perf_counter()
        run_snakemake(work, "--configfile", "only.yaml")
        noop = time.perf_counter() - t0
    print(
        f"\n3. trsa default demo through snakemake --cores 2: {dt:.1f} s wall, {cpu:.1f} s "
        f"CPU (wall on a shared machine depends on its load; no-op rerun {noop:.1f} s)"
    )


if __name__ == "__main__":
    part0([60, 400] if "--skip-1000" in sys.argv else [60, 400, 1000])
    if "--geodesic-only" in sys.argv:
        sys.exit(0)
    part1([100] if "--skip-1000" in sys.argv else [100, 1000])
    part2()
    if "--skip-demo" not in sys.argv:
        part3()
