"""Methods paragraph of the bi-clustering stage."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd

from neuroflow import __version__
from neuroflow.bicluster.inputs import bicluster_recordings
from neuroflow.bicluster.settings import SamplerSettings, recording_defaults, stage_schema
from neuroflow.config import fill_defaults
from neuroflow.report.references import cite, dataset_reference, used_versions

WEI_2023 = (
    "Wei G (2023). Bayesian bi-clustering of neural spiking activity with latent "
    "structures. arXiv:2309.02213."
)
REFS = [
    WEI_2023,
    "Miller JW, Harrison MT (2018). Mixture models with a prior on the number of components. "
    "J Am Stat Assoc 113:340-356.",
    "Fox EB, Sudderth EB, Jordan MI, Willsky AS (2011). A sticky HDP-HMM with application to "
    "speaker diarization. Ann Appl Stat 5:1020-1056.",
    "Polson NG, Scott JG, Windle J (2013). Bayesian inference for logistic models using "
    "Polya-Gamma latent variables. J Am Stat Assoc 108:1339-1349.",
    "Zhou M, Carin L (2015). Negative binomial process count and mixture modeling. IEEE Trans "
    "Pattern Anal Mach Intell 37:307-320.",
    "Neal RM (2000). Markov chain sampling methods for Dirichlet process mixture models. "
    "J Comput Graph Stat 9:249-265.",
    "Dahl DB (2003). An improved merge-split sampler for conjugate Dirichlet process mixture "
    "models. Technical Report 1086, Department of Statistics, University of Wisconsin.",
    "Jain S, Neal RM (2004). A split-merge Markov chain Monte Carlo procedure for the "
    "Dirichlet process mixture model. J Comput Graph Stat 13:158-182.",
    "Wade S, Ghahramani Z (2018). Bayesian cluster analysis: point estimation and credible "
    "balls. Bayesian Anal 13:559-626.",
    "Fritsch A, Ickstadt K (2009). Improved criteria for clustering based on the posterior "
    "similarity matrix. Bayesian Anal 4:367-391.",
    "Gerlach R, Carter C, Kohn R (2000). Efficient Bayesian inference for dynamic mixture "
    "models. J Am Stat Assoc 95:819-828.",
    "Vehtari A, Gelman A, Simpson D, Carpenter B, Buerkner P-C (2021). Rank-normalization, "
    "folding, and localization: an improved R-hat for assessing convergence of MCMC. "
    "Bayesian Anal 16:667-718.",
    cite("arviz"),
    cite("sklearn"),
]


def _applied(ref: str, st) -> bool:
    """Whether the sampler step a reference stands for ran with these settings."""
    if ref.startswith(("Dahl DB", "Jain S")):
        return bool(st.split_merge_every and st.split_merge_moves)
    if ref.startswith("Gerlach R"):
        return bool(st.collapsed_states)
    if ref.startswith("Zhou M"):
        return st.likelihood == "nb"
    return True


def _loss_name(loss: str) -> str:
    return {
        "binder": "Binder",
        "vi": "variation-of-information",
        "pear": "1 - posterior expected adjusted Rand index (maxPEAR)",
    }.get(loss, loss)


def _filled(config: dict) -> dict:
    """The stage's config section with the schema's defaults filled in (a copy)."""
    return fill_defaults(copy.deepcopy(config.get("bicluster") or {}), stage_schema())


def methods_text(config: dict, manifest: dict) -> tuple[list[str], list[str]]:
    """Paragraphs describing the bi-clustering actually run, and the reference list."""
    bic = _filled(config)
    st = SamplerSettings.from_dict(bic["sampler"])
    v = used_versions(config, ("numpy", "scipy", "polyagamma", "arviz", "scikit-learn", "pynwb"))
    recs = bicluster_recordings({**config, "bicluster": bic}, manifest)
    paras = [_model_paragraph(st, v), _sweep_paragraph(st), _run_paragraph(bic, st)]
    refs = [r for r in REFS if _applied(r, st)]
    paras += _recording_paragraphs(recs, v, manifest, refs)
    paras += _result_paragraphs(Path(config["results_dir"]), recs)
    return paras, refs


def _model_paragraph(st, v) -> str:
    t_max = f"{st.max_clusters}" if st.max_clusters else "half the number of neurons"
    lik = (
        "a negative-binomial likelihood with a per-neuron dispersion r_i ~ Gamma("
        f"{st.dispersion_a0}, rate {st.dispersion_rate})"
        if st.likelihood == "nb"
        else f"a Poisson likelihood (approximated by a negative binomial with r = {st.poisson_r}, "
        "without the authors' Metropolis-Hastings correction)"
    )
    return (
        f"Spike counts were bi-clustered with the Bayesian model of Wei (2023), implemented in "
        f"neuroflow {__version__} (numpy {v['numpy']}, scipy {v['scipy']}, polyagamma "
        f"{v['polyagamma']}, scikit-learn {v['scikit-learn']}, arviz {v['arviz']}). Counts "
        f"y_it of neuron i in bin t followed {lik} and log-mean delta_i + mu_t^(k) + c_i'X_t^(k) "
        f"for neuron cluster k = z_i, with {st.n_factors} latent factors per cluster; priors "
        f"delta_i ~ N(0, {st.delta_prior_sd}^2), c_i ~ N(0, {st.loading_prior_sd}^2 I). Cluster "
        "labels followed a mixture of finite mixtures (Miller & Harrison 2018) with K ~ "
        f"Geometric({st.mfm_geometric_p}), Dirichlet({st.mfm_gamma}) weights and at most "
        f"{t_max} clusters. The stacked cluster latents followed switching linear dynamics "
        "x_t = A_s x_(t-1) + b_s + e_t, e_t ~ N(0, Q_s), with a matrix-normal-inverse-Wishart "
        f"prior (mean [I, 0], column precision {st.mniw_k0} I, {st.mniw_s0} I scale, d + 2 "
        "degrees of freedom; the paper uses 1 I and 0.01 I, which with weakly observed "
        "latents pull every state towards persistent dynamics and the state noise several-"
        "fold below the paper's simulated 0.01 I) and states s_t from a sticky HDP-HMM "
        "(weak limit "
        f"L = {st.n_states_max}, alpha = {st.hdp_alpha}, gamma = {st.hdp_gamma}, kappa = "
        f"{st.hdp_kappa}) shared by the whole population."
    )


def _sweep_paragraph(st) -> str:
    """What one sweep of the sampler does, and how a chain starts."""
    return (
        "Each sweep of the blocked Gibbs sampler drew r_i by Chinese-restaurant-table "
        "augmentation (Zhou & Carin 2015) "
        + (
            f"followed by {st.dispersion_mh_steps} random-walk Metropolis steps on log r_i (not "
            "in the authors' code; the augmentation alone mixes slowly for large r_i), "
            if st.likelihood == "nb" and st.dispersion_mh_steps
            else ", "
        )
        + "then one set of Polya-Gamma variables, given which it drew (delta_i, c_i) by "
        "Bayesian regression and all latents by forward-filtering backward-sampling (FFBS) on "
        "the Polya-Gamma pseudo-observations (the authors draw the Polya-Gamma variables anew "
        "for each of the two blocks), applied the identifiability constraints (latents centred, factors "
        "rotated by SVD, dynamics transformed accordingly), drew the state path by FFBS with "
        "conjugate dynamics and auxiliary-table updates of the transition matrix (Fox et al. "
        "2011), and reassigned neurons by Neal's (2000) algorithm 8 with MFM weights and "
        "Laplace-approximated marginal likelihoods. Departing from the authors' code, each "
        "candidate cluster's latent was "
        + (
            "a draw from the per-bin marginals of its Kalman-smoothed posterior"
            if st.candidate_latent == "sample"
            else "its Kalman-smoothed posterior mean"
        )
        + " given the other members' pseudo-observations (leave-one-out for the neuron's own "
        "cluster) rather than the latent path sampled given all members, which lets clusters "
        "merge and split within tens of sweeps"
        + (
            "; drawing rather than taking the mean avoids favouring large clusters, whose "
            "means are shrunk less"
            if st.candidate_latent == "sample"
            else ""
        )
        + "; new clusters "
        f"were proposed from AR(1) paths (coefficient {st.aux_ar_coef}, variance "
        f"{st.aux_ar_var}) or, every {st.spline_every}th sweep, random cubic splines. "
    ) + _departures_text(st)


def _departures_text(st) -> str:
    """The second half of :func:`_sweep_paragraph`: split-merge, chain start, and the
    moves not in the authors' code that these settings switch on."""
    return (
        (
            f"Every {st.split_merge_every}th sweep, {st.split_merge_moves} sequentially-"
            "allocated split-merge proposal(s) (Dahl 2003; Jain & Neal 2004; present but "
            "disabled in the authors' code) moved whole groups of neurons with their loadings "
            "held fixed, each cluster's latent integrated out by the Kalman filter on the "
            "Polya-Gamma pseudo-observations under the dynamics of the cluster being split, and "
            "the latents of the clusters involved were redrawn after an accepted move; "
            "algorithm 8 alone merged true clusters in long chains and rarely separated them "
            "again. "
            if st.split_merge_every and st.split_merge_moves
            else ""
        )
        + "Chains "
        f"started from {st.init_clusters} neuron groups (average linkage of count correlations) "
        f"and used one shared dynamics for {st.state_warmup} sweeps before the state path was "
        f"initialised by k-means ({st.init_states} groups) on the local latent energy and "
        "relative step energy, each initial state starting from the conjugate draw or a "
        "white-noise dynamics, whichever gave the larger latent-marginal likelihood. "
        + (
            "Before the latents, every state s_t was also updated from its conditional "
            "with the latents integrated out (forward Kalman filter and backward information "
            "messages on the Polya-Gamma pseudo-observations; Gerlach, Carter & Kohn 2000), "
            "which the authors' code does not do: latents drawn under one state's dynamics "
            "resemble that state, so the latent-conditional update alone rarely moves the "
            "state path. The bins were visited forward on odd and backward on even sweeps, "
            "since a pass in one direction moves a state boundary the other way by at most "
            "one bin. "
            if st.collapsed_states
            else ""
        )
        + (
            f"Then {st.boundary_moves} Metropolis-Hastings moves per sweep shifted a random "
            f"boundary between state episodes by up to {st.boundary_max_shift} bins either "
            "way, accepted by the Kalman marginal likelihood of the pseudo-observations times "
            "the path's transition prior (not in the authors' code): the single-site update "
            "moves a boundary only through every bin in between. "
            if st.collapsed_states and st.boundary_moves
            else ""
        )
        + (
            "Also departing from the authors' code, each used state's A_s and Q_s then "
            "received Metropolis-Hastings scale moves (log-normal factors, sd "
            f"{st.dynamics_mh_sd}) with the latents integrated out (Kalman marginal "
            "likelihood times the MNIW prior): the conjugate draw given sampled latents cannot "
            "change a weakly observed state's persistence. "
            if st.collapsed_states and st.collapsed_dynamics
            else ""
        )
        + (
            f"After the identifiability constraints, {st.frame_moves} rounds per sweep of "
            "Metropolis-Hastings moves went along each cluster's unidentified frame (factor "
            "scales X_j -> e^u X_j, c_ij -> c_ij e^-u, and the shear mu -> mu + v . X, "
            "c_i -> c_i - v, with the state dynamics transformed along; proposal sd "
            f"{st.frame_move_sd}): the firing rates stay the same, so only the priors decide, "
            "and the Gibbs updates of loadings and latents alone move along these directions "
            "in tiny steps. Not in the authors' code."
            if st.frame_moves
            else ""
        )
    )


def _run_paragraph(bic, st) -> str:
    conv = bic["convergence"]
    n_chains = bic["chains"]
    kept = (st.n_iter - st.burn_in) // st.thin
    return (
        f"{n_chains} chains of {st.n_iter} sweeps were run per recording (seeds from "
        f"SeedSequence({bic['seed']}, chain)), discarding {st.burn_in} and keeping "
        f"every {st.thin}th sweep ({kept} draws per chain). Label switching was handled by "
        "summarizing posterior co-clustering matrices and choosing point estimates of the "
        f"neuron partition and of the state partition that minimize the expected "
        f"{_loss_name(bic['loss'])} and "
        f"{_loss_name(bic['state_loss'])} loss (Wade & Ghahramani 2018; Fritsch "
        "& Ickstadt 2009); draws were matched to them by the Hungarian algorithm for state "
        "posteriors and latent trajectories. Convergence was assessed with arviz's "
        "rank-normalized R-hat and bulk/tail effective sample sizes (Vehtari et al. 2021) of "
        "quantities invariant to labels, rotations and the latent/loading scale: neuron "
        "baselines, log dispersions, the sd over time of each neuron's log rate, the "
        "log-likelihood, the numbers of clusters and states, the share of bins in the "
        "most occupied state, the co-clustering indicators of neuron pairs and each bin's "
        f"state occupancy (at most {conv['max_items']} pairs and bins). A run counted as "
        f"converged only if every such quantity had R-hat below {conv['max_r_hat']} and bulk "
        f"and tail ESS of at least {conv['min_ess']:g} (all chains together), and no two "
        "chains' co-clustering matrices (of neurons, or of time bins sharing a state) "
        f"differed by more than {conv['max_coclustering_gap']} in any entry (chains in "
        "different modes). A cluster or state of the point estimates was reported as found "
        "only if in every chain the mean probability that a draw put its members in it "
        f"(draws matched to the point estimate) was at least {conv['min_support']}; a "
        "partition pooled from chains in different modes can hold a group no chain "
        "supports on its own. Inferred states were compared with recorded epochs by the "
        "adjusted Rand index and adjusted mutual information against "
        f"{bic['n_shuffles']} circular shifts of the epoch labels."
        + (
            f" While these checks failed, every chain was run {conv['extend_sweeps']} sweeps "
            f"further and the checks repeated, at most {conv['max_extensions']} times "
            "(burn-in and thinning unchanged); the sweeps run per recording are given with "
            "its results."
            if conv["extend_sweeps"] and conv["max_extensions"]
            else ""
        )
    )


def _recording_paragraphs(recs, v, manifest, refs) -> list[str]:
    """One paragraph per recording (simulated or read by the activity stage); the cited
    datasets are appended to ``refs``."""
    paras = []
    for rec, spec in sorted(recs.items()):
        if "simulate" in spec:
            sim = {**recording_defaults()["simulate"], **spec["simulate"]}
            paras.append(
                f"Recording '{rec}' is SIMULATED from the model with the paper's settings "
                f"(seed {spec.get('seed', recording_defaults()['seed'])}): "
                f"{sim['n_clusters']} clusters of "
                f"{sim['neurons_per_cluster']} neurons, {sim['n_time']} bins, "
                f"{sim['n_states']} states (near-white-noise and growing-rotation "
                f"dynamics, semi-Markov durations of mean 50 bins), NB dispersion "
                f"{sim['dispersion']}. The onset of a rotation episode, while the "
                "latent is still small, looks like the white-noise state; on the authors' own "
                "seed-0 simulation their sampler (10,000 sweeps) recovers the state sequence "
                "with an adjusted Rand index of 0.82 (23 of 500 bins differ, at episode "
                "edges; read from their results notebook), so agreement with the simulated "
                "states below 1 at the edges of episodes is expected."
            )
        else:
            src = spec["source"]
            if spec["reader"] == "nwb":
                refs.append(cite("pynwb"))
            what = (
                "spike times of its NWB units table (read with pynwb "
                f"{v['pynwb']}) binned into {spec['bin_width']} s counts"
                if spec["reader"] == "nwb"
                else "a counts table given by the user"
            )
            paras.append(
                f"Recording '{rec}' ({'BIDS dataset' if src == 'bids' else src}"
                f"{', SIMULATED' if spec['simulated'] else ''}): {what}, by the activity "
                "stage, the one reader of spike data"
                + (f"; units below {spec['min_rate']} spikes/s were left out" if spec["min_rate"] else "")
                + "."
            )
            if src in manifest["datasets"]:
                refs.append(dataset_reference(manifest, src))
    return paras


def _result_paragraphs(results, recs) -> list[str]:
    """The validation scores and the convergence verdict of every recording already run."""
    paras = []
    for rec, spec in sorted(recs.items()):
        val = results / f"{spec['subdir']}/ephys/{rec}_desc-bicluster_validation.tsv"
        if val.exists():
            tbl = pd.read_csv(val, sep="\t")
            bits = [
                f"{r.quantity} = {r.value:.3g}"
                + (f" (chance {r.null_mean:.3g}, p = {r.p_value:.3g})" if r.p_value == r.p_value else "")
                for r in tbl.itertuples()
            ]
            side = val.with_suffix(".json")
            verdict = json.loads(side.read_text()).get("Convergence") if side.exists() else None
            if verdict and not verdict["converged"]:
                bits.insert(
                    0,
                    "NOT CONVERGED ("
                    + "; ".join(verdict["failing"][:5])
                    + (f"; {verdict['n_failing'] - 5} more" if verdict["n_failing"] > 5 else "")
                    + "): these results are not to be interpreted",
                )
            if verdict and (verdict["clusters_not_found"] or verdict["states_not_found"]):
                bits.append(
                    "not found for lack of support in some chain: "
                    + ", ".join(verdict["clusters_not_found"] + verdict["states_not_found"])
                )
            if verdict and verdict.get("extensions"):
                bits.insert(0, _extension_text(verdict))
            paras.append(f"Results for '{rec}': " + "; ".join(bits) + ".")
    return paras


def _extension_text(verdict) -> str:
    """How a run until converged went: rounds, sweeps per chain, and where it stopped."""
    rounds = len(verdict["extensions"]) - 1
    end = (
        "the checks passed"
        if verdict["converged"]
        else "the sweep budget ended with the checks still failing"
    )
    return (
        f"{verdict['sweeps_per_chain']} sweeps per chain after {rounds} extension "
        f"round{'s' if rounds != 1 else ''} ({end})"
    )
