"""Methods paragraph of the encoding stage (what was done, with the parameters used)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from neuroflow import __version__
from neuroflow.encoding.inputs import experiment_config, experiment_prefix, section_defaults
from neuroflow.report.references import cite, dataset_reference, used_versions

ADELI_CITATION = (
    "Adeli H, Sun M, Kriegeskorte N (2025). Transformer brain encoders explain "
    "human high-level visual responses. arXiv:2505.17329 (NeurIPS 2025)."
)
HIMALAYA_CITATION = cite("himalaya")
NUNEZ_CITATION = (
    "Nunez-Elizalde AO, Huth AG, Gallant JL (2019). Voxelwise encoding models "
    "with non-spherical multivariate normal priors. NeuroImage 197:482-492."
)
HUTH_CITATION = (
    "Huth AG, de Heer WA, Griffiths TL, Theunissen FE, Gallant JL (2016). Natural "
    "speech reveals the semantic maps that tile human cerebral cortex. Nature "
    "532:453-458."
)
NSD_CITATION = (
    "Allen EJ, St-Yves G, Wu Y, et al. (2022). A massive 7T fMRI dataset to bridge "
    "cognitive neuroscience and artificial intelligence. Nat Neurosci 25:116-126."
)
DETR_CITATION = (
    "Carion N, Massa F, Synnaeve G, Usunier N, Kirillov A, Zagoruyko S (2020). "
    "End-to-end object detection with transformers. ECCV 2020, 213-229."
)
BH_CITATION = (
    "Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate: a "
    "practical and powerful approach to multiple testing. J R Stat Soc B "
    "57:289-300."
)
SKLEARN_CITATION = cite("sklearn")
TORCH_CITATION = cite("torch")
NWB_CITATION = cite("pynwb")

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


_dataset_reference = dataset_reference


def _result_sentence(config: dict, cfg: dict, exp: str) -> str:
    path = Path(experiment_prefix(config["results_dir"], exp, cfg) + "_scores.tsv")
    if not path.is_file():
        return ""
    table = pd.read_csv(path, sep="\t")
    if len(table) == 1:
        row = table.iloc[0]
        return (
            f" Held-out correlation r = {row['r']:.3f} (SD over folds {row['r_sd']:.3f}); "
            f"shuffled baseline mean {row['null_mean']:.3f}, 95th percentile "
            f"{row['null_p95']:.3f}; permutation p = {row['p']:.3g}."
        )
    sig = (table["p_fdr"] < 0.05).sum()
    text = (
        f" Median held-out r over {len(table)} targets {table['r'].median():.3f} "
        f"(maximum {table['r'].max():.3f}); {sig} targets significant at FDR 0.05."
    )
    if "location" in table:
        means = table.groupby("location")["r"].mean()
        text += " Mean r by location: " + ", ".join(f"{k} {v:.3f}" for k, v in means.items()) + "."
    if "noise_ceiling" in table:
        text += (
            f" Median noise ceiling {table['noise_ceiling'].median():.3f}; median "
            f"normalised R^2 {table['r2_normalized'].median():.3f}."
        )
    return text + _warnings_sentence(path)


def _warnings_sentence(tsv_path: Path) -> str:
    """The doubtful results recorded in an output's sidecar, as a sentence."""
    side = tsv_path.with_suffix(".json")
    warnings = json.loads(side.read_text()).get("Warnings", []) if side.is_file() else []
    return (" Warnings: " + "; ".join(warnings) + ".") if warnings else ""


def _routing_sentence(config: dict) -> str:
    path = Path(config["results_dir"]) / "group/encoding/desc-routing_scores.tsv"
    if not path.is_file():
        return ""
    table = pd.read_csv(path, sep="\t")
    parts = []
    for region, sub in table.groupby("region", sort=False):
        r = dict(zip(sub["model"], sub["r_mean"], strict=True))
        parts.append(f"{region}: " + ", ".join(f"{m} r = {v:.2f}" for m, v in r.items()))
    return " Held-out accuracy per region - " + "; ".join(parts) + "." + _warnings_sentence(path)


_NULL_TEXT = {
    "refit_fixed": "every outer fold was refitted on the shifted responses with the "
    "regularisation chosen on the real responses held fixed (closed-form ridge "
    "solution), so that the null keeps the dependence between fold scores",
    "refit": "the whole nested cross-validation was repeated on the shifted responses",
    "predictions": "each fold's held-out responses were shifted against its fixed predictions "
    "(a null too narrow when fold scores are correlated; p-values flagged as "
    "anti-conservative)",
}


def _ridge_paragraph(enc: dict, v: dict) -> str:
    rid, al = enc["ridge"], enc["ridge"]["alphas"]
    return (
        f"Encoding models were fitted with neuroflow {__version__}, himalaya {v['himalaya']} "
        f"(backend '{enc['backend']}'; numpy on the CPU, torch_cuda on a GPU), "
        f"scikit-learn {v['scikit-learn']} and torch {v['torch']}, on device "
        f"'{enc['device']}' (the device actually used, its name and the peak GPU "
        "memory are recorded in each output's JSON sidecar). Features were z-scored with "
        "training-fold statistics and lagged into a finite impulse response design (lags "
        "never crossing a run). Outer cross-validation folds held out whole blocks of "
        "samples; the regularisation of each target was chosen by grouped inner "
        f"cross-validation on the training blocks from {al['n']} values "
        f"logarithmically spaced between 1e{al['min_log10']} and 1e{al['max_log10']} "
        "(himalaya RidgeCV; KernelRidgeCV with a linear kernel when features outnumber "
        f"samples; GroupRidgeCV random search over {rid['n_iter']} band weightings for banded "
        "ridge, whose per-band penalties are reported). Accuracy is the Pearson correlation "
        "and R^2 of held-out predictions per target, averaged over folds; with several "
        "feature bands the held-out variance explained by each band was split with "
        "himalaya's product measure (r2_score_split). Significance: responses were "
        "circularly shifted within each run (the same shift for every target) and the mean "
        "held-out r recomputed; p = (1 + #null >= r) / (1 + n), Benjamini-Hochberg adjusted "
        "over targets."
    )


def _experiment_paragraph(config: dict, cfg: dict, exp: str) -> str:
    opts = cfg["options"]
    reader_text = _READER_TEXT[cfg["reader"]].format(
        bin=f"{opts['bin_s'] * 1000:g} ms" if "bin_s" in opts else "",
        blocks=opts.get("n_blocks"),
        baseline=opts.get("baseline"),
        epoch=opts.get("epoch"),
        n_basis=opts.get("n_basis"),
        basis={"vonmises": "von Mises", "fourier": "Fourier"}.get(opts.get("basis")),
    )
    folds = cfg["n_folds"] or "leave-one-block-out"
    perm = cfg["permutation"]
    source = (
        f"dataset {cfg['dataset']}"
        if cfg["dataset"]
        else f"the activity stage's units file of recording {cfg['recording']}"
        if cfg.get("recording")
        else "user files"
    )
    text = (
        f"Experiment '{exp}' (sub-{cfg['subject']}, {source}): {reader_text}. "
        + (
            f"FIR lags {cfg['lags_s'][0]:g}-{cfg['lags_s'][1]:g} s; "
            if cfg["lags_s"][0] != cfg["lags_s"][1]
            else f"Lag {cfg['lags_s'][0]:g} s; "
        )
        + f"model {cfg['model']}; {folds} outer folds, {cfg['n_inner_folds']} inner "
        f"folds; {perm['n']} circular shifts of at least {perm['min_shift_s']:g} s, for "
        f"which {_NULL_TEXT[perm['mode']]}."
    )
    if cfg["noise_ceiling"]["enabled"]:
        nc = cfg["noise_ceiling"]
        text += (
            " Noise ceiling: condition means per run (after a "
            f"{nc['delay_s']:g} s delay; skipping {', '.join(nc['skip']) or 'none'}) "
            "gave the noise variance (mean over conditions of the variance across "
            "runs) and the signal variance (variance across conditions of the run "
            "mean, minus the noise variance over the number of runs); the ceiling of "
            "single-run condition means is signal / (signal + noise), i.e. "
            "ncsnr^2 / (ncsnr^2 + 1) as in NSD, and R^2 of predicted condition means "
            f"was divided by it where it exceeded {nc['min_ceiling']:g}."
        )
    return text + _result_sentence(config, cfg, exp)


def _attention_paragraph(config: dict, att: dict) -> str:
    sim = att["simulation"]
    source = (
        f"feature maps from {att['feature_map']}"
        if att["feature_map"]
        else f"a SIMULATED routing set ({sim['n_stimuli']} stimuli, "
        f"{sim['n_channels']}-channel {sim['height']}x{sim['width']} maps of spatially "
        "smoothed Gaussian noise; three regions read a fixed token, "
        f"{sim['n_moving']} region(s) the token of a marked object that moves with the "
        "stimulus; no backbone weights can be downloaded here)"
    )
    return (
        "An attention-routing transformer encoder after Adeli, Sun & Kriegeskorte (2025) "
        f"was trained on {source}: a 1x1 projection to {att['d_model']} "
        "dimensions, DETR 2-D sine positional encodings (temperature "
        f"{att['temperature']:g}) added to the keys, one learned query per "
        f"region, {att['n_layers']} pre-norm decoder layer(s) with cross-attention "
        f"({att['n_heads']} heads) and a feed-forward block "
        f"({att['dim_feedforward']} units, dropout {att['dropout']:g}) but "
        "no query self-attention, a final LayerNorm and a linear read-out in which each "
        "target takes the prediction of its region's query. Training: AdamW (learning "
        f"rate {att['learning_rate']:g}, weight decay {att['weight_decay']:g}), batches of "
        f"{att['batch_size']}, {att['epochs']} epochs, gradient-norm clipping at "
        f"{att['grad_clip']:g}; the epoch with the best mean Pearson r on "
        f"{att['validation_fraction']:g} of the training stimuli was kept. Ridge "
        "regression on the flattened feature map (per-target alpha by inner CV) was "
        f"evaluated on the same {att['n_folds']} folds of stimuli. The "
        "cross-attention weights, averaged over heads, are the routing maps; their "
        "peakedness is reported as the normalised entropy and the peak-to-mean ratio of each "
        "region's mean map, and a map with normalised entropy of at least "
        f"{att['flat_entropy']:g} is called flat and given no peak location." + _routing_sentence(config)
    )


def methods_text(config: dict, manifest: dict) -> tuple[list[str], list[str]]:
    """Paragraphs (plain text) describing what was done, and the reference list."""
    enc = section_defaults(config["encoding"])
    v = used_versions(
        config, ("himalaya", "torch", "scikit-learn", "scipy", "numpy", "statsmodels", "pynwb", "nibabel")
    )
    paras = [_ridge_paragraph(enc, v)]
    refs = [HIMALAYA_CITATION, NUNEZ_CITATION, HUTH_CITATION, BH_CITATION, SKLEARN_CITATION]
    datasets = []
    for exp in enc["run"]:
        cfg = experiment_config(enc, exp)
        paras.append(_experiment_paragraph(config, cfg, exp))
        if cfg["noise_ceiling"]["enabled"]:
            refs.append(NSD_CITATION)
        if cfg["reader"] == "haxby":  # the BOLD images are read with nibabel
            refs.append(cite("nibabel"))
        if cfg["dataset"] and cfg["dataset"] in manifest["datasets"]:
            datasets.append(cfg["dataset"])
        if cfg["reader"] == "headdirection":
            refs.append(NWB_CITATION)
            spikes = (config.get("activity") or {}).get("spikes") or {}
            source = (spikes.get(str(cfg.get("recording"))) or {}).get("dataset")
            if source and source in manifest["datasets"]:
                datasets.append(source)
    if enc["attention"]["enabled"]:
        paras.append(_attention_paragraph(config, enc["attention"]))
        refs += [ADELI_CITATION, DETR_CITATION, TORCH_CITATION]
    for ds in dict.fromkeys(datasets):
        refs.append(_dataset_reference(manifest, ds))
    return paras, list(dict.fromkeys(refs))
