"""Benchmark of the activity stage, side by side with reference implementations.

Prints, from one run (ratios = ours / reference):
  1. resampling 30 Hz -> 0.333 s of 60 traces x 20 min with known content (0.3 Hz and
     1.2 Hz in band, 4 Hz above the new Nyquist frequency): speed, peak memory, in-band
     RMS error and out-of-band leakage for neuroflow (scipy resample_poly), MNE's
     ``mne.filter.resample`` (polyphase), the seed's interpolate-then-block-average
     (Simeon et al. 2024, re-implemented from METHODS.md) and nearest-sample picking;
  2. the same on the real CNMF-E recording (pynapple test data, 35743 x 10): speed;
  3. the Randi et al. 2023 atlas: our h5py reader vs wormneuroatlas 0.0.7.3's own
     ``NeuroAtlas`` (imported from the cached wheel, never installed): speed and max
     |difference| of dF/F and q over all 90,000 pairs;
  4. the cluster-bootstrap AUROC (1000 resamples, ~23,000 pairs) vs scikit-learn's
     ``roc_auc_score`` on explicitly resampled data: speed and max |difference|.

Usage: python bench/bench_activity.py  (downloads the pynapple sdist and the
wormneuroatlas wheel into the neuroflow cache on first use)
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np

from neuroflow.devtools import repo_root

STEP = 0.333


def measure(fn, repeat: int = 3):
    """Best-of-``repeat`` wall time (s), then one run under tracemalloc for peak MiB."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, best, peak


def seed_resample(x, t, step):
    """Simeon et al. 2024 (worm-data-preprocess), downsampling branch, from METHODS.md.

    Each block mean covers [k step, (k + 1) step) but is stamped at k step: a delay of
    about half a step, which shows up as in-band error.
    """
    fine = np.arange(t.min(), t.max(), step / 6)
    y = np.column_stack([np.interp(fine, t, x[:, j]) for j in range(x.shape[1])])
    n = y.shape[0] // 6
    return y[: n * 6].reshape(n, 6, -1).mean(axis=1), step * np.arange(n)


def mne_resample(x, t, step):
    import mne

    rate = 1 / np.median(np.diff(t))
    from fractions import Fraction

    r = Fraction(1 / (step * rate)).limit_denominator(1000)
    y = mne.filter.resample(x.T, up=r.numerator, down=r.denominator, method="polyphase", verbose=False).T
    return y, np.arange(y.shape[0]) * len(t) / y.shape[0] / rate  # MNE's implied grid


def ours(x, t, step):
    from neuroflow.activity.resample import resample_traces

    y, tn, _ = resample_traces(x, t, step)
    return y, tn


def nearest(x, t, step):
    tn = np.arange(0, t[-1], step)
    return x[np.searchsorted(t, tn).clip(0, len(t) - 1)], tn


def mne_fft(x, t, step):
    import mne

    rate = 1 / np.median(np.diff(t))
    y = mne.filter.resample(x.T, up=1 / (step * rate), method="fft", verbose=False).T
    # output step = duration / n_out (rounded count), not exactly `step`
    return y, np.arange(y.shape[0]) * len(t) / y.shape[0] / rate


METHODS = {
    "neuroflow (resample_poly)": ours,
    "mne.filter.resample": mne_resample,
    "mne.filter.resample fft": mne_fft,
    "seed (interp + block mean)": seed_resample,
    "nearest sample": nearest,
}


def resampling_table():
    rng = np.random.default_rng(0)
    rate, minutes, n = 30.0, 20, 60
    t = np.arange(int(minutes * 60 * rate)) / rate
    ph = rng.uniform(0, 2 * np.pi, (3, n))
    slow = np.sin(2 * np.pi * 0.3 * t[:, None] + ph[0]) + 0.5 * np.sin(2 * np.pi * 1.2 * t[:, None] + ph[1])
    fast = 0.5 * np.sin(2 * np.pi * 4.0 * t[:, None] + ph[2])
    x = slow + fast
    print(
        f"== 1. resampling {n} traces x {minutes} min, 30 Hz -> {STEP} s "
        "(in band: 0.3, 1.2 Hz; above Nyquist: 4 Hz) =="
    )
    print(
        f"{'method':28s} {'time s':>8s} {'peak MiB':>9s} {'in-band RMS err':>16s} "
        f"{'4 Hz leakage RMS':>17s} {'n samples':>10s} {'step s':>8s}"
    )
    ref_time = None
    for name, fn in METHODS.items():
        (y, tn), dt, peak = measure(lambda fn=fn: fn(x, t, STEP))
        truth = np.sin(2 * np.pi * 0.3 * tn[:, None] + ph[0]) + 0.5 * np.sin(
            2 * np.pi * 1.2 * tn[:, None] + ph[1]
        )
        inner = slice(30, len(tn) - 30)
        err = np.sqrt(np.mean((y[inner] - truth[inner]) ** 2))
        (yf, _), _, _ = (fn(fast, t, STEP), 0, 0)
        leak = np.sqrt(np.mean(yf[inner] ** 2))
        ref_time = ref_time or dt
        print(
            f"{name:28s} {dt:8.3f} {peak:9.1f} {err:16.4f} {leak:17.4f} {len(tn):10d}"
            f" {np.median(np.diff(tn)):.6f}  (time x{dt / ref_time:.2f} of ours)"
        )
    print("   (truth RMS: in-band 0.79, leakage with perfect anti-aliasing: 0)")


def real_cnmfe():
    from neuroflow.activity.readers import read_nwb
    from neuroflow.resources import fetch_dataset, load_manifest

    root = repo_root()
    manifest = load_manifest(root / "resources/datasets.yaml")
    path = fetch_dataset(manifest, "pynapple_cnmfe_nwb", root / "resources/data")[0]
    rec, t_read, m_read = measure(lambda: read_nwb(path), repeat=1)
    x, t = rec["traces"].values, rec["time"].values
    print(
        f"\n== 2. real CNMF-E recording {path.name}: {x.shape[0]} x {x.shape[1]}, "
        f"read with pynwb in {t_read:.2f} s ({m_read:.0f} MiB) =="
    )
    base = None
    for name in (
        "neuroflow (resample_poly)",
        "mne.filter.resample",
        "mne.filter.resample fft",
        "seed (interp + block mean)",
    ):
        (y, tn), dt, peak = measure(lambda name=name: METHODS[name](x, t, STEP))
        base = base or dt
        print(f"{name:28s} {dt:8.4f} s {peak:7.1f} MiB  {len(tn)} samples  (x{dt / base:.2f})")


def funatlas():
    from neuroflow.activity.funatlas import read_funatlas
    from neuroflow.homogenize.labels import build_label_map, load_aliases, load_cell_table
    from neuroflow.resources import _cached_archive, default_cache_dir, fetch_dataset, load_manifest

    root = repo_root()
    manifest = load_manifest(root / "resources/datasets.yaml")
    h5 = fetch_dataset(manifest, "randi_2023_funatlas", root / "resources/data")[0]
    lm = build_label_map(
        load_cell_table(root / "resources/celegans/cells.tsv"),
        load_aliases(root / "resources/celegans/aliases.tsv"),
    )
    atlas, t_ours, m_ours = measure(lambda: read_funatlas(h5, lm))
    print("\n== 3. Randi et al. 2023 atlas: neuroflow (h5py) vs wormneuroatlas.NeuroAtlas ==")
    wheel = _cached_archive(
        "wormneuroatlas", manifest["distributions"]["wormneuroatlas"], default_cache_dir()
    )
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(tmp)
        sys.path.insert(0, tmp)
        try:
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()):
                import wormneuroatlas as wa

                def reference():
                    # NeuroAtlas.__init__'s steps up to the signal-propagation atlas (its
                    # later steps query rest.wormbase.org, unreachable here)
                    na = wa.NeuroAtlas.__new__(wa.NeuroAtlas)
                    na.module_folder = str(Path(wa.__file__).parent / "data") + "/"
                    na._neuron_ids = np.loadtxt(na.module_folder + na.fname_neuron_ids, dtype=str)[:, 1]
                    na.merge_bilateral = na.merge_dorsoventral = False
                    na.merge_numbered = na.merge_AWC = False
                    na.verbose = False
                    na.neuron_ids = np.unique(na.approximate_ids(na._neuron_ids, False, False, False, False))
                    na.n_neurons = na.neuron_n = len(na.neuron_ids)
                    na.merger = na.get_merger()
                    na.load_signal_propagation_atlas()
                    return na

                na, t_ref, m_ref = measure(reference)
        except Exception as exc:  # its optional dependencies may be missing
            print(f"wormneuroatlas could not be imported ({type(exc).__name__}: {exc}); skipped")
            return
        finally:
            sys.path.remove(tmp)
    ids = [str(n) for n in na.neuron_ids]
    diffs = {}
    for strain in ("wt", "unc31"):
        for ours_name, ref in (("amplitude", na.dFF[strain]), ("q", na.q[strain])):
            worst = 0.0
            a = atlas[ours_name].sel(strain=strain)
            for i, resp in enumerate(ids):
                for j, stim in enumerate(ids):
                    if resp in a["post"].values and stim in a["pre"].values and i != j:
                        v, r = float(a.sel(pre=stim, post=resp)), ref[i, j]
                        if np.isfinite(v) or np.isfinite(r):
                            worst = max(worst, abs(v - r) if np.isfinite(v - r) else np.inf)
            diffs[f"{strain} {ours_name}"] = worst
    print(f"{'':28s} {'time s':>8s} {'peak MiB':>9s}")
    print(f"{'neuroflow read_funatlas':28s} {t_ours:8.3f} {m_ours:9.1f}")
    print(f"{'NeuroAtlas (sigprop only)':28s} {t_ref:8.3f} {m_ref:9.1f}")
    print(f"ratio ours/reference: time x{t_ours / t_ref:.2f}, memory x{m_ours / m_ref:.2f}")
    print(
        "max |ours - reference| over off-diagonal pairs: "
        + ", ".join(f"{k}: {v:.3g}" for k, v in diffs.items())
    )
    return atlas


def auroc(atlas):
    from sklearn.metrics import roc_auc_score

    from neuroflow.activity.structure import auroc_bootstrap

    rng = np.random.default_rng(0)
    a = atlas.sel(strain="wt")
    tested = a["tested"].values
    y = (a["q"].values < 0.05)[tested]
    score = np.abs(a["amplitude"].values)[tested] * 0 + rng.integers(0, 5, tested.sum())
    cluster = np.broadcast_to(np.arange(300)[:, None], (300, 300))[tested]
    mult = rng.multinomial(300, np.full(300, 1 / 300), size=1000)
    (_, boot), t_ours, m_ours = measure(lambda: auroc_bootstrap(score, y, cluster, mult))
    k = 50
    t0 = time.perf_counter()
    ref = []
    for b in range(k):
        idx = np.concatenate([np.flatnonzero(cluster == c) for c in range(300) for _ in range(mult[b, c])])
        ref.append(roc_auc_score(y[idx], score[idx]))
    t_ref = (time.perf_counter() - t0) / k * 1000
    print(f"\n== 4. cluster-bootstrap AUROC, {y.size} pairs, 1000 resamples ==")
    print(f"neuroflow auroc_bootstrap : {t_ours:8.3f} s  {m_ours:7.1f} MiB")
    print(f"sklearn on resamples      : {t_ref:8.3f} s  (extrapolated from {k})")
    print(
        f"ratio ours/sklearn: time x{t_ours / t_ref:.4f}; max |difference| over {k} resamples: "
        f"{np.max(np.abs(boot[:k] - np.array(ref))):.2e}"
    )


def main() -> None:
    resampling_table()
    real_cnmfe()
    atlas = funatlas()
    if atlas is not None:
        auroc(atlas)


if __name__ == "__main__":
    main()
