"""Benchmark of the EEG stage, side by side with the same analysis written directly in MNE.

Prints, from one run:
  1. per subject (SIMULATED 60-s subjects and the real 16-s spkit recording): seconds per
     subject-minute of EEG and peak memory (tracemalloc) of neuroflow's preprocess +
     features, and of a plain script calling MNE / specparam / mne-connectivity directly
     (filter, notch, resample, interpolate, average reference, infomax ICA with EOG-proxy
     labelling, 2-s epochs, rejection, Welch PSD, specparam, coh/PLV/wPLI), as ratios;
     accuracy on the simulated subjects (|exponent error|, |alpha error|, blink correlation
     left after ICA) for both;
  2. per recording, file to file: the functions of the rule eeg_recording
     (preprocess_recording, features_recording, connectivity_recording: read the FIF, write
     every output) against MNE direct reading the same FIF and saving the same kinds of
     output (FIF, NetCDF, TSV), seconds per subject-minute;
  3. the Snakemake workflow with only the EEG stage (demo cohort, warm download cache):
     wall time from scratch, seconds per subject-minute, and a no-op rerun.

Times are CPU seconds, the least of 3 interleaved runs; `uptime` load is printed beside them.
Usage: OMP_NUM_THREADS=1 python bench/bench_eeg.py [--subjects N] [--no-workflow]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import yaml

from neuroflow.devtools import copy_workflow, demo_config, repo_root, run_snakemake
from neuroflow.eeg import features as F
from neuroflow.eeg.devdata import spkit_raw
from neuroflow.eeg.preprocess import filter_raw, notch_raw, preprocess
from neuroflow.eeg.simulate import draw_truth, simulate_subject

SEED = 20240505
REPEATS = 3  # interleaved runs per subject and pipeline; the least CPU time counts
BANDS = {"theta": (4.0, 8.0), "alpha": (8.0, 13.0), "beta": (13.0, 30.0)}


def neuroflow_pipeline(raw):
    res = preprocess(raw, {}, "bench")
    freqs, psd = F.compute_psd(res["epochs"])
    table, _ = F.fit_aperiodic(freqs, psd, res["epochs"].ch_names)
    F.connectivity(res["epochs"], ("coh", "plv", "wpli"), dict(BANDS))
    return res["raw"], F.summarize_aperiodic(table)


def mne_direct(raw, bads):
    """The same analysis as a user would script it with MNE (bad channels given)."""
    _, clean, epochs = mne_clean(raw.copy(), bads)
    spec, fg, _ = mne_features(epochs)
    return clean, mne_summary(fg)


def mne_clean(raw, bads):
    """Filter, notch, resample, interpolate, average reference, ICA on `raw` in place;
    return (filtered copy before ICA, ICA, cleaned raw, epochs)."""
    import mne

    raw.filter(1.0, 45.0, verbose="error")
    raw.notch_filter([50.0], verbose="error")
    raw.resample(128.0, verbose="error")
    raw.info["bads"] = list(bads)
    raw.interpolate_bads(reset_bads=True, verbose="error")
    raw.set_eeg_reference("average", verbose="error")
    filtered = raw.copy()
    ica = mne.preprocessing.ICA(
        n_components=min(15, len(raw.ch_names) - 1 - len(bads)),
        method="infomax",
        random_state=97,
        verbose="error",
    )
    ica.fit(raw, verbose="error")
    proxies = [c for c in ("Fp1", "Fp2", "AF3", "AF4") if c in raw.ch_names]
    _, scores = ica.find_bads_eog(raw, ch_name=proxies, measure="correlation", threshold=0.6, verbose="error")
    best = np.abs(np.atleast_2d(scores)).max(axis=0)
    ica.exclude = [int(i) for i in np.argsort(-best)[:2] if best[i] > 0.6]
    ica.apply(raw, verbose="error")
    epochs = mne.make_fixed_length_epochs(raw, duration=2.0, preload=True, verbose="error")
    epochs.drop_bad(reject={"eeg": 150e-6}, flat={"eeg": 1e-6}, verbose="error")
    return (filtered, ica), raw, epochs


def mne_features(epochs, multitaper: bool = False):
    """Welch PSD (and multitaper), specparam, coh/PLV/wPLI, as MNE's examples do them."""
    from mne_connectivity import spectral_connectivity_epochs
    from specparam import SpectralGroupModel

    spec = [
        epochs.compute_psd(
            method="welch", fmin=1.0, fmax=45.0, n_fft=256, n_overlap=128, window="hamming", verbose="error"
        )
    ]
    if multitaper:
        spec.append(
            epochs.compute_psd(
                method="multitaper", fmin=1.0, fmax=45.0, bandwidth=2.0, normalization="full", verbose="error"
            )
        )
    fg = SpectralGroupModel(
        peak_width_limits=[1, 8], max_n_peaks=6, min_peak_height=0.1, aperiodic_mode="fixed", verbose=False
    )
    fg.fit(spec[0].freqs, spec[0].get_data().mean(axis=0) * 1e12, [2.0, 40.0])
    con = spectral_connectivity_epochs(
        epochs,
        method=["coh", "plv", "wpli"],
        mode="multitaper",
        fmin=tuple(b[0] for b in BANDS.values()),
        fmax=tuple(b[1] for b in BANDS.values()),
        faverage=True,
        verbose="error",
    )
    return spec, fg, con


def mne_summary(fg) -> dict:
    exps = fg.get_params("aperiodic")[:, 1]
    peaks = fg.get_params("peak")
    alpha = []
    for i in range(len(exps)):
        mine = peaks[(peaks[:, 3] == i) & (peaks[:, 0] >= 7) & (peaks[:, 0] <= 14)]
        if len(mine):
            alpha.append(mine[np.argmax(mine[:, 1]), 0])
    return {
        "exponent": float(np.median(exps)),
        "alpha_peak_frequency": float(np.median(alpha)) if alpha else np.nan,
    }


def load() -> str:
    """`uptime`'s load averages: figures from a busy machine are not comparable."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def measure(calls, repeats: int = REPEATS):
    """Run each (fn, args) of `calls` `repeats` times, interleaved; per call its output, the
    least CPU time (s) over the repeats (other processes' load barely moves it; run with
    OMP_NUM_THREADS=1) and its peak traced memory (MiB, one more run)."""
    best = [np.inf] * len(calls)
    outs = [None] * len(calls)
    for _ in range(repeats):
        for k, (fn, args) in enumerate(calls):
            t0 = time.process_time()
            outs[k] = fn(*args)
            best[k] = min(best[k], time.process_time() - t0)
    peaks = []
    for fn, args in calls:
        tracemalloc.start()
        fn(*args)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    return outs, best, peaks


def blink_left(clean, blink):
    b = blink.copy()
    filter_raw(b, 1.0, 45.0)
    notch_raw(b, [50.0])
    b.resample(128.0, verbose="error")
    return float(
        np.mean(
            [
                abs(np.corrcoef(clean.get_data(picks=[c])[0], b.get_data(picks=[c])[0])[0, 1])
                for c in ("Fp1", "Fp2")
            ]
        )
    )


def compare(n_subjects: int) -> list:
    print(
        f"== neuroflow eeg vs MNE called directly (one process, {n_subjects} SIMULATED x 60 s "
        "+ real spkit 16 s) =="
    )
    print(f"load: {load()}")
    print(f"CPU seconds per subject-minute, least of {REPEATS} interleaved runs each")
    print(
        f"{'subject':10s} {'min':>5s} {'nf s/min':>9s} {'mne s/min':>9s} {'time x':>7s} "
        f"{'nf MiB':>7s} {'mne MiB':>8s} {'mem x':>6s} {'|dexp| nf/mne':>14s} "
        f"{'|dalpha| nf/mne':>16s} {'blink r nf/mne':>15s}"
    )
    cases = []
    for i in range(1, n_subjects + 1):
        truth = draw_truth(i, SEED, (1.0, 2.0), (8.5, 11.5))
        raw, blink, truth = simulate_subject(truth, alpha_ratio=0.1, random_state=[SEED, i])
        cases.append((f"sim{i:02d}", raw, blink, truth))
    cases.append(("phyaat", spkit_raw(), None, None))
    warm = cases[-1][1]  # import and cache everything once, untimed
    neuroflow_pipeline(warm)
    mne_direct(warm, ["P8", "FC6"])
    totals = np.zeros(2)
    for name, raw, blink, truth in cases:
        minutes = raw.times[-1] / 60 + 1 / raw.info["sfreq"] / 60
        bads = [truth["dead_channel"]] if truth else ["P8", "FC6"]
        outs, (t_nf, t_mne), (m_nf, m_mne) = measure(
            [(neuroflow_pipeline, (raw,)), (mne_direct, (raw, bads))]
        )
        (clean_nf, s_nf), (clean_mne, s_mne) = outs
        totals += (t_nf, t_mne)
        acc = ""
        if truth:
            e = [abs(s["exponent"] - truth["aperiodic_exponent"]) for s in (s_nf, s_mne)]
            a = [abs(s["alpha_peak_frequency"] - truth["alpha_peak_frequency"]) for s in (s_nf, s_mne)]
            r = [blink_left(c, blink) for c in (clean_nf, clean_mne)]
            acc = f"{e[0]:6.3f}/{e[1]:<6.3f} {a[0]:7.3f}/{a[1]:<7.3f} {r[0]:6.3f}/{r[1]:<6.3f}"
        print(
            f"{name:10s} {minutes:5.2f} {t_nf / minutes:9.2f} {t_mne / minutes:9.2f} "
            f"{t_nf / t_mne:7.2f} {m_nf:7.1f} {m_mne:8.1f} {m_nf / m_mne:6.2f}  {acc}"
        )
    print(
        f"total time ratio neuroflow / MNE direct: {totals[0] / totals[1]:.2f} "
        "(target <= 1.1; neuroflow adds bad-channel detection, per-component variance and "
        "tables)"
    )
    print(f"load: {load()}")
    return cases


def neuroflow_files(path: Path, kind: str, out: Path) -> None:
    """The functions of the per-recording rule eeg_recording, file to file (preprocess,
    features, connectivity) on one FIF recording (default config)."""
    from neuroflow.eeg import pipeline as P

    stem = "sub-bench_task-rest"
    o = {
        k: out / f"{stem}_{k}"
        for k in (
            "filtered_eeg.fif",
            "clean_eeg.fif",
            "clean_epo.fif",
            "ica.fif",
            "channels.tsv",
            "components.tsv",
            "rejection.tsv",
            "preproc.json",
        )
    }
    spec = {
        "kind": kind,
        "sub": "bench",
        "entities": {"sub": "bench", "task": "rest"},
        "stem": stem,
        "simulated": kind == "simulated",
        "format": "fif",
    }
    P.preprocess_recording(
        spec,
        [str(path)],
        montage="colin27_1020",
        on_missing="raise",
        cfg={},
        out=dict(
            zip(
                ("filtered", "clean", "epochs", "ica", "channels", "components", "epochs_log", "summary"),
                o.values(),
            )
        ),
    )
    common = {"recording": stem, "simulated": kind == "simulated", "cfg": {}}
    P.features_recording(
        o["clean_epo.fif"],
        out_nc=out / f"{stem}_spectra.nc",
        out_bandpower=out / f"{stem}_bandpower.tsv",
        out_aperiodic=out / f"{stem}_aperiodic.tsv",
        out_peaks=out / f"{stem}_peaks.tsv",
        **common,
    )
    P.connectivity_recording(o["clean_epo.fif"], out_nc=out / f"{stem}_connectivity.nc", **common)


def mne_files(path: Path, bads, out: Path) -> None:
    """The same analysis with MNE directly, file to file: read the FIF, save what the stage
    saves (filtered and cleaned raw, epochs, ICA; Welch and multitaper spectra; specparam
    table; connectivity with mne-connectivity's own NetCDF writer)."""
    import mne
    import xarray as xr

    raw = mne.io.read_raw_fif(path, preload=True, verbose="error")
    (filtered, ica), clean, epochs = mne_clean(raw, bads)
    filtered.save(out / "mne_filtered_raw.fif", overwrite=True, verbose="error")
    clean.save(out / "mne_clean_raw.fif", overwrite=True, verbose="error")
    epochs.save(out / "mne_clean_epo.fif", overwrite=True, verbose="error")
    ica.save(out / "mne_ica.fif", overwrite=True, verbose="error")
    spec, fg, con = mne_features(epochs, multitaper=True)
    xr.Dataset(
        {
            "psd_welch": (("channel", "freq"), spec[0].get_data().mean(axis=0)),
            "psd_multitaper": (("channel", "freq_mt"), spec[1].get_data().mean(axis=0)),
        },
        coords={"channel": spec[0].ch_names, "freq": spec[0].freqs, "freq_mt": spec[1].freqs},
    ).to_netcdf(out / "mne_spectra.nc", engine="h5netcdf")
    fg.to_df(1).to_csv(out / "mne_specparam.tsv", sep="\t", index=False)
    with warnings.catch_warnings():  # h5netcdf: mne-connectivity's attributes are not NetCDF-4
        warnings.simplefilter("ignore", UserWarning)
        for k, c in enumerate(con):
            c.save(out / f"mne_connectivity_{k}.nc")


def compare_files(cases) -> None:
    """Per recording, file to file: the stage's three rule functions vs MNE direct."""
    print(
        "== per recording, file to file: eeg_recording (preprocess + features + connectivity) vs "
        "MNE direct reading the same FIF and saving the same kinds of output =="
    )
    print(f"load: {load()}")
    print(f"{'subject':10s} {'min':>5s} {'nf s/min':>9s} {'mne s/min':>9s} {'time x':>7s}")
    totals = np.zeros(2)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, raw, _, truth in cases:
            path = tmp / f"{name}_eeg.fif"
            raw.save(path, verbose="error")
            minutes = raw.times[-1] / 60 + 1 / raw.info["sfreq"] / 60
            bads = [truth["dead_channel"]] if truth else ["P8", "FC6"]
            kind = "simulated" if truth else "embedded"
            (tmp / name).mkdir()
            _, (t_nf, t_mne), _ = measure(
                [(neuroflow_files, (path, kind, tmp / name)), (mne_files, (path, bads, tmp / name))]
            )
            totals += (t_nf, t_mne)
            print(
                f"{name:10s} {minutes:5.2f} {t_nf / minutes:9.2f} {t_mne / minutes:9.2f} {t_nf / t_mne:7.2f}"
            )
    print(
        f"total time ratio neuroflow / MNE direct, file to file: {totals[0] / totals[1]:.2f} (target <= 1.1)"
    )
    print(f"load: {load()}")


def workflow() -> None:
    root = repo_root()
    cfg = demo_config(root)
    over = {
        k: {"activate": False}
        for k, v in cfg.items()
        if isinstance(v, dict) and "activate" in v and k != "eeg"
    }
    over["connectome"] = {"activate": False}
    eeg = cfg["eeg"]
    minutes = eeg["simulate"]["n_subjects"] * eeg["simulate"]["duration"] / 60 + 16 / 60
    with tempfile.TemporaryDirectory() as tmp:
        work = copy_workflow(Path(tmp) / "w", root)
        (work / "config/eeg_only.yaml").write_text(yaml.safe_dump(over))
        args = ("--configfile", "config/eeg_only.yaml")
        warm = run_snakemake(work, *args, "--until", "fetch_spkit_eeg16sec_artifact")
        if warm.returncode:
            sys.exit(f"warming the download cache failed:\n{warm.stderr[-2000:]}")
        t0 = time.perf_counter()
        full = run_snakemake(work, *args)
        t_full = time.perf_counter() - t0
        if full.returncode:
            sys.exit(f"workflow failed:\n{full.stderr[-3000:]}")
        t0 = time.perf_counter()
        run_snakemake(work, *args)
        t_noop = time.perf_counter() - t0
    print("== Snakemake, EEG stage only (demo cohort, 2 cores) ==")
    print(
        f"full run, warm download cache : {t_full:7.1f} s for {minutes:.2f} subject-minutes "
        f"= {t_full / minutes:.1f} s per subject-minute (reports, figures, group included)"
    )
    print(f"no-op rerun                   : {t_noop:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=2)
    parser.add_argument("--no-workflow", action="store_true")
    args = parser.parse_args()
    cases = compare(args.subjects)
    compare_files(cases)
    if not args.no_workflow:
        workflow()


if __name__ == "__main__":
    main()
