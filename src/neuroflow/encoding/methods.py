"""Methods paragraph of the encoding stage (what was done, with the parameters used)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neuroflow import __version__
from neuroflow.provenance import package_versions
from neuroflow.resources import dataset_citation

ADELI_CITATION = ("Adeli H, Sun M, Kriegeskorte N (2025). Transformer brain encoders explain "
                  "human high-level visual responses. arXiv:2505.17329 (NeurIPS 2025).")
HIMALAYA_CITATION = ("Dupré la Tour T, Eickenberg M, Nunez-Elizalde AO, Gallant JL (2022). "
                     "Feature-space selection with banded ridge regression. NeuroImage "
                     "264:119728.")
NUNEZ_CITATION = ("Nunez-Elizalde AO, Huth AG, Gallant JL (2019). Voxelwise encoding models "
                  "with non-spherical multivariate normal priors. NeuroImage 197:482-492.")
HUTH_CITATION = ("Huth AG, de Heer WA, Griffiths TL, Theunissen FE, Gallant JL (2016). Natural "
                 "speech reveals the semantic maps that tile human cerebral cortex. Nature "
                 "532:453-458.")
NSD_CITATION = ("Allen EJ, St-Yves G, Wu Y, et al. (2022). A massive 7T fMRI dataset to bridge "
                "cognitive neuroscience and artificial intelligence. Nat Neurosci 25:116-126.")
DETR_CITATION = ("Carion N, Massa F, Synnaeve G, Usunier N, Kirillov A, Zagoruyko S (2020). "
                 "End-to-end object detection with transformers. ECCV 2020, 213-229.")
BH_CITATION = ("Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate: a "
               "practical and powerful approach to multiple testing. J R Stat Soc B "
               "57:289-300.")
SKLEARN_CITATION = ("Pedregosa F, Varoquaux G, Gramfort A, et al. (2011). Scikit-learn: "
                    "machine learning in Python. JMLR 12:2825-2830.")
TORCH_CITATION = ("Paszke A, Gross S, Massa F, et al. (2019). PyTorch: an imperative style, "
                  "high-performance deep learning library. NeurIPS 32.")
NWB_CITATION = ("Rübel O, Tritt A, Ly R, et al. (2022). The Neurodata Without Borders "
                "ecosystem for neurophysiological data science. eLife 11:e78362.")

_READER_TEXT = {
    "grasshopper": "the amplitude envelope of the sound (20 kHz) was converted to dB SPL "
                   "(anchored to the peak intensity in the recording header), averaged in "
                   "{bin} bins, and its half-wave rectified rate of change (onsets, dB/s) "
                   "formed a second band; the response was the spike count per bin divided "
                   "by the bin width (spikes/s); each stimulus was cut into {blocks} "
                   "contiguous cross-validation blocks",
    "haxby": "one indicator column per object category (the baseline '{baseline}' giving "
             "all-zero rows) predicted the BOLD signal of every voxel in the mask, linearly "
             "detrended and z-scored within each run (scipy); runs were the cross-validation "
             "blocks",
    "headdirection": "the head angle (circular mean per {bin} bin within the '{epoch}' epoch; "
                     "untracked bins left out) was expanded in {n_basis} {basis} basis "
                     "functions and predicted the spike rate of every unit (the activity stage's "
                     "units file, read from NWB with pynwb); {blocks} "
                     "contiguous cross-validation blocks",
    "files": "precomputed features read from a user file predicted user-supplied responses",
}


_dataset_reference = dataset_citation


def _result_sentence(config: dict, cfg: dict, exp: str) -> str:
    from neuroflow.encoding.pipeline import experiment_prefix

    path = Path(experiment_prefix(config["results_dir"], exp, cfg) + "_scores.tsv")
    if not path.is_file():
        return ""
    table = pd.read_csv(path, sep="\t")
    if len(table) == 1:
        row = table.iloc[0]
        return (f" Held-out correlation r = {row['r']:.3f} (SD over folds {row['r_sd']:.3f}); "
                f"shuffled baseline mean {row['null_mean']:.3f}, 95th percentile "
                f"{row['null_p95']:.3f}; permutation p = {row['p']:.3g}.")
    sig = (table["p_fdr"] < 0.05).sum()
    text = (f" Median held-out r over {len(table)} targets {table['r'].median():.3f} "
            f"(maximum {table['r'].max():.3f}); {sig} targets significant at FDR 0.05.")
    if "location" in table:
        means = table.groupby("location")["r"].mean()
        text += " Mean r by location: " + ", ".join(f"{k} {v:.3f}" for k, v in means.items()) + "."
    if "noise_ceiling" in table:
        text += (f" Median noise ceiling {table['noise_ceiling'].median():.3f}; median "
                 f"normalised R^2 {table['r2_normalized'].median():.3f}.")
    return text


def _routing_sentence(config: dict) -> str:
    path = Path(config["results_dir"]) / "group/encoding/desc-routing_scores.tsv"
    if not path.is_file():
        return ""
    table = pd.read_csv(path, sep="\t")
    parts = []
    for region, sub in table.groupby("region", sort=False):
        r = dict(zip(sub["model"], sub["r_mean"]))
        parts.append(f"{region}: " + ", ".join(f"{m} r = {v:.2f}" for m, v in r.items()))
    return " Held-out accuracy per region - " + "; ".join(parts) + "."


def methods_text(config: dict, manifest: dict) -> tuple[list[str], list[str]]:
    """Paragraphs (plain text) describing what was done, and the reference list."""
    from neuroflow.encoding.pipeline import experiment_config

    enc = config["encoding"]
    v = package_versions(("himalaya", "torch", "scikit-learn", "scipy", "numpy", "statsmodels",
                          "pynwb", "nibabel"))
    rid = enc.get("ridge", {})
    al = rid.get("alphas", {})
    paras = [
        f"Encoding models were fitted with neuroflow {__version__}, himalaya {v['himalaya']} "
        f"(backend '{enc.get('backend', 'auto')}'; numpy on the CPU, torch_cuda on a GPU), "
        f"scikit-learn {v['scikit-learn']} and torch {v['torch']}, on device "
        f"'{enc.get('device', 'auto')}' (the device actually used, its name and the peak GPU "
        "memory are recorded in each output's JSON sidecar). Features were z-scored with "
        "training-fold statistics and lagged into a finite impulse response design (lags "
        "never crossing a run). Outer cross-validation folds held out whole blocks of "
        "samples; the regularisation of each target was chosen by grouped inner "
        f"cross-validation on the training blocks from {al.get('n', 9)} values "
        f"logarithmically spaced between 1e{al.get('min_log10', -1)} and "
        f"1e{al.get('max_log10', 7)} (himalaya RidgeCV; KernelRidgeCV with a linear kernel "
        "when features outnumber samples; GroupRidgeCV random search over "
        f"{rid.get('n_iter', 32)} band weightings for banded ridge). Accuracy is the Pearson "
        "correlation and R^2 of held-out predictions per target, averaged over folds. "
        "Significance: held-out responses were circularly shifted against the predictions "
        "within each fold and run (or, in 'refit' mode, the whole nested fit was repeated on "
        "shifted responses); p = (1 + #null >= r) / (1 + n), Benjamini-Hochberg adjusted "
        "over targets.",
    ]
    refs = [HIMALAYA_CITATION, NUNEZ_CITATION, HUTH_CITATION, BH_CITATION, SKLEARN_CITATION]
    datasets = []
    for exp in enc.get("run", []):
        cfg = experiment_config(enc, exp)
        opts = cfg["options"]
        reader_text = _READER_TEXT[cfg["reader"]].format(
            bin=f"{opts.get('bin_s', 0.005 if cfg['reader'] == 'grasshopper' else 0.1) * 1000:g} ms",
            blocks=opts.get("n_blocks", 10 if cfg["reader"] == "headdirection" else 5),
            baseline=opts.get("baseline", "rest"), epoch=opts.get("epoch", "wake"),
            n_basis=opts.get("n_basis", 12),
            basis={"vonmises": "von Mises", "fourier": "Fourier"}[opts.get("basis", "vonmises")])
        folds = cfg["n_folds"] or "leave-one-block-out"
        perm = cfg["permutation"]
        text = (f"Experiment '{exp}' (sub-{cfg['subject']}, "
                + (f"dataset {cfg['dataset']}" if cfg["dataset"] else
                   f"the activity stage's units file of recording {cfg['recording']}"
                   if cfg.get("recording") else "user files")
                + f"): {reader_text}. "
                + (f"FIR lags {cfg['lags_s'][0]:g}-{cfg['lags_s'][1]:g} s; "
                   if cfg["lags_s"][0] != cfg["lags_s"][1] else f"Lag {cfg['lags_s'][0]:g} s; ")
                + f"model {cfg['model']}; {folds} outer folds, {cfg['n_inner_folds']} inner folds; "
                f"{perm['n']} circular shifts ({perm['mode']}, at least "
                f"{perm['min_shift_s']:g} s).")
        if cfg["noise_ceiling"]["enabled"]:
            nc = cfg["noise_ceiling"]
            text += (" Noise ceiling: condition means per run (after a "
                     f"{nc['delay_s']:g} s delay; skipping {', '.join(nc['skip']) or 'none'}) "
                     "gave the noise variance (mean over conditions of the variance across "
                     "runs) and the signal variance (variance across conditions of the run "
                     "mean, minus the noise variance over the number of runs); the ceiling of "
                     "single-run condition means is signal / (signal + noise), i.e. "
                     "ncsnr^2 / (ncsnr^2 + 1) as in NSD, and R^2 of predicted condition means "
                     f"was divided by it where it exceeded {nc['min_ceiling']:g}.")
            refs.append(NSD_CITATION)
        text += _result_sentence(config, cfg, exp)
        paras.append(text)
        if cfg["dataset"] and cfg["dataset"] in manifest["datasets"]:
            datasets.append(cfg["dataset"])
        if cfg["reader"] == "headdirection":
            refs.append(NWB_CITATION)
            spikes = ((config.get("activity") or {}).get("spikes") or {})
            source = (spikes.get(str(cfg.get("recording"))) or {}).get("dataset")
            if source and source in manifest["datasets"]:
                datasets.append(source)
    att = enc.get("attention", {})
    if att.get("enabled", True):
        sim = att.get("simulation", {})
        source = (f"feature maps from {att['feature_map']}" if att.get("feature_map") else
                  f"a SIMULATED routing set ({sim.get('n_stimuli', 300)} stimuli, "
                  f"{sim.get('n_channels', 8)}-channel {sim.get('height', 6)}x"
                  f"{sim.get('width', 6)} maps of spatially smoothed Gaussian noise; three "
                  "regions read a fixed token, "
                  f"{sim.get('n_moving', 1)} region(s) the token of a marked object that "
                  "moves with the stimulus; no backbone weights can be downloaded here)")
        paras.append(
            "An attention-routing transformer encoder after Adeli, Sun & Kriegeskorte (2025) "
            f"was trained on {source}: a 1x1 projection to {att.get('d_model', 32)} "
            "dimensions, DETR 2-D sine positional encodings (temperature "
            f"{att.get('temperature', 10000.0):g}) added to the keys, one learned query per "
            f"region, {att.get('n_layers', 1)} pre-norm decoder layer(s) with cross-attention "
            f"({att.get('n_heads', 4)} heads) and a feed-forward block "
            f"({att.get('dim_feedforward', 64)} units, dropout {att.get('dropout', 0.1):g}) but "
            "no query self-attention, a final LayerNorm and a linear read-out in which each "
            "target takes the prediction of its region's query. Training: AdamW (learning "
            f"rate {att.get('learning_rate', 0.003):g}, weight decay "
            f"{att.get('weight_decay', 1e-4):g}), batches of {att.get('batch_size', 32)}, "
            f"{att.get('epochs', 30)} epochs, gradient-norm clipping at "
            f"{att.get('grad_clip', 0.1):g}; the epoch with the best mean Pearson r on "
            f"{att.get('validation_fraction', 0.1):g} of the training stimuli was kept. Ridge "
            "regression on the flattened feature map (per-target alpha by inner CV) was "
            f"evaluated on the same {att.get('n_folds', 5)} folds of stimuli. The "
            "cross-attention weights, averaged over heads, are the routing maps."
            + _routing_sentence(config))
        refs += [ADELI_CITATION, DETR_CITATION, TORCH_CITATION]
    for ds in dict.fromkeys(datasets):
        refs.append(_dataset_reference(manifest, ds))
    return paras, list(dict.fromkeys(refs))
