"""The paper's claim under the authors' protocol: topology- vs geometry-sensitive families.

Lin & Kriegeskorte's driver adds noise 0-0.4 (SD in units of the SD of all RDM entries) to
the layer RDMs of network instances and compares, at every level, the identification
accuracy of families of geo-topological statistics: 10 random (lower, upper) pairs per
family, each family's accuracy the mean over its pairs, with a bootstrap over instances and
stimuli. This module runs that comparison at every noise level and under two sensitivity
noise models (:mod:`neuroflow.rsa.noise`), with

* the primary contrast topology-sensitive minus geometry-sensitive family (paired
  bootstrap, 95 % interval, p-value, standard error, the difference detectable with 80 %
  power and the power for a difference of interest),
* the plain RDM as an extra, labelled baseline (not the paper's reference),
* a label-permutation null of the identification accuracy beside chance,
* a held-out choice of (lower, upper): nested leave-one-subject-out selection on the grid,
  so that no (l, u) is chosen on the subjects it is scored on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from neuroflow.rsa import identification as ident
from neuroflow.rsa.noise import NOISE_MODELS, noisy_vectors, rdm_noise, sd_ratio
from neuroflow.rsa.transforms import (
    FAMILIES,
    Statistic,
    apply_statistic,
    geodesic,
    geotopological,
    lu_grid,
    rank_minmax,
    sample_family,
)

Z_975 = float(norm.ppf(0.975))
Z_80 = float(norm.ppf(0.8))


@dataclass(frozen=True)
class ProtocolSettings:
    """Settings of the faithful protocol, built once from ``config["trsa"]``."""

    noise_levels: tuple = (0.0, 0.1, 0.2, 0.3, 0.4)
    activation_noise_levels: tuple = (0.0, 0.5, 1.0, 2.0)
    noise_models: tuple = NOISE_MODELS
    kinds: tuple = ("rgtm", "rgdm")
    contrast: tuple = ("topology", "geometry")
    family_samples: int = 10
    n_boot: int = 1000
    n_null: int = 200
    effect: float = 0.05
    selection_resolution: float = 0.1
    n_repeats: int = 3
    zero_edges: str = "drop"
    random_state: int = 0

    @classmethod
    def from_config(cls, trsa: dict) -> ProtocolSettings:
        """From the validated, default-filled ``config["trsa"]`` section."""
        ident_cfg = trsa["identification"]
        return cls(
            noise_levels=tuple(ident_cfg["noise_levels"]),
            activation_noise_levels=tuple(ident_cfg["activation_noise_levels"]),
            noise_models=tuple(ident_cfg["noise_models"]),
            kinds=tuple(ident_cfg["family_kinds"]),
            contrast=tuple(ident_cfg["contrast"]),
            family_samples=ident_cfg["family_samples"],
            n_boot=ident_cfg["n_boot"],
            n_null=ident_cfg["n_null"],
            effect=ident_cfg["effect_of_interest"],
            selection_resolution=ident_cfg["grid_resolution"],
            n_repeats=ident_cfg["n_repeats"],
            zero_edges=trsa["zero_edges"],
            random_state=trsa["random_state"],
        )

    def levels(self, model: str) -> tuple:
        return self.activation_noise_levels if model == "activation" else self.noise_levels


def power_two_sided(se: float, effect: float) -> float:
    """Power of a two-sided 5 % z-test with standard error `se` for a true difference."""
    if se <= 0:
        return 1.0 if effect != 0 else 0.05
    shift = abs(effect) / se
    return float(norm.cdf(shift - Z_975) + norm.cdf(-shift - Z_975))


def verdict(ci_low: float, ci_high: float, margin: float) -> tuple[str, str]:
    """``(claim_holds, wording)`` for 'topology identifies at least as well as geometry'.

    yes: the interval of topology - geometry lies above 0 (better) or above -margin (not
    worse by more than the difference of interest); no: it lies below 0; else inconclusive.
    """
    if ci_low > 0:
        return "yes", "topology family better (95% interval above 0)"
    if ci_high < 0:
        return "no", "topology family worse (95% interval below 0)"
    if ci_low > -margin:
        return "yes", f"topology family not worse by more than {margin:g} (non-inferior)"
    return "inconclusive", f"95% interval spans -{margin:g} and 0"


def sample_plan(kinds, family_samples: int, rng: np.random.Generator) -> dict:
    """``{(kind, family): [Statistic, ...]}``: random (l, u) per family, plus the plain RDM.

    The same pairs are used at every noise level and under every noise model (paired).
    """
    plan = {("rdm", "plain"): [Statistic("rdm")]}
    for kind in kinds:
        for family in FAMILIES:
            plan[(kind, family)] = [
                Statistic(kind, lo, up) for lo, up in sample_family(family, family_samples, rng)
            ]
    return plan


def permutation_null(stack: np.ndarray, n_null: int, rng: np.random.Generator) -> np.ndarray:
    """Identification accuracy with region labels permuted within each subject.

    Parameters
    ----------
    stack : ndarray, shape (n_subjects, n_regions, n_pairs)

    Returns
    -------
    ndarray, shape (n_null,)
    """
    gram = ident.weighted_gram(stack)
    n_subj, n_reg = stack.shape[:2]
    out = np.empty(n_null)
    for i in range(n_null):
        perm = np.array([rng.permutation(n_reg) for _ in range(n_subj)])
        rows = perm[:, :, None, None]
        cols = perm[None, None, :, :]
        g = gram[np.arange(n_subj)[:, None, None, None], rows, np.arange(n_subj)[None, None, :, None], cols]
        out[i] = ident.loo_correct_from_gram(g, np.ones(n_subj)).mean()
    return out


def _score_plan(stack, plan, keys, weights, zero_edges):
    """Point accuracy and bootstrap accuracies of every statistic of the families `keys`."""
    n_subj, n_reg, n_pair = stack.shape
    flat = stack.reshape(n_subj * n_reg, n_pair)
    scores = {}
    for key in keys:
        for stat in plan[key]:
            t = apply_statistic(flat, stat, zero_edges).reshape(stack.shape)
            point = ident.loo_correct_from_gram(ident.weighted_gram(t), np.ones(n_subj)).mean()
            scores[stat] = (float(point), ident.fast_bootstrap(t, *weights))
    return scores


def _family_rows(model, level, plan, keys, scores):
    """Summary rows, sample rows and the bootstrap mean of every family."""
    summary, samples, boots = [], [], {}
    for kind, family in keys:
        stats = plan[(kind, family)]
        boot = np.mean([scores[s][1] for s in stats], axis=0)
        boots[(kind, family)] = boot
        lo, hi = np.percentile(boot, [2.5, 97.5])
        summary.append(
            {
                "noise_model": model,
                "noise_level": float(level),
                "kind": kind,
                "family": family,
                "n_samples": len(stats),
                "accuracy_mean": float(np.mean([scores[s][0] for s in stats])),
                "bootstrap_mean": float(boot.mean()),
                "bootstrap_sd": float(boot.std(ddof=1)),
                "ci_low": float(lo),
                "ci_high": float(hi),
            }
        )
        for s in stats:
            samples.append(
                {
                    "noise_model": model,
                    "noise_level": float(level),
                    "statistic": s.name,
                    "kind": s.kind,
                    "lower": s.lower,
                    "upper": s.upper,
                    "family": s.family,
                    "accuracy": scores[s][0],
                    "bootstrap_mean": float(scores[s][1].mean()),
                    "bootstrap_sd": float(scores[s][1].std(ddof=1)),
                }
            )
    return summary, samples, boots


def _test_rows(model, level, boots, n_boot):
    rows = []
    keys = list(boots)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if a[0] != b[0] and "rdm" not in (a[0], b[0]):
                continue
            diff, lo, hi, p = ident.paired_bootstrap_test(boots[a], boots[b])
            rows.append(
                {
                    "noise_model": model,
                    "noise_level": float(level),
                    "kind_a": a[0],
                    "family_a": a[1],
                    "kind_b": b[0],
                    "family_b": b[1],
                    "mean_difference": diff,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": p,
                    "se": float(np.std(boots[a] - boots[b], ddof=1)),
                    "n_boot": n_boot,
                }
            )
    return rows


def _claim_rows(model, level, boots, summary, null, noise_sd, settings, chance):
    """One claim-table row per kind: each family's accuracy, the contrast and its power."""
    acc = {(r["kind"], r["family"]): r for r in summary}
    topo, geo = settings.contrast
    rows = []
    for kind in settings.kinds:
        a, b = boots[(kind, topo)], boots[(kind, geo)]
        diff, lo, hi, p = ident.paired_bootstrap_test(a, b)
        se = float(np.std(a - b, ddof=1))
        d_rdm = ident.paired_bootstrap_test(a, boots[("rdm", "plain")])
        holds, wording = verdict(lo, hi, settings.effect)
        power = power_two_sided(se, settings.effect)
        if power < 0.8:
            wording += (
                f"; underpowered for {settings.effect:g} (power {power:.2f}; 80 % "
                f"power only for differences >= {(Z_975 + Z_80) * se:.3f})"
            )
        ta, ga = acc[(kind, topo)], acc[(kind, geo)]
        rows.append(
            {
                "noise_model": model,
                "noise_level": float(level),
                "rdm_noise": noise_sd,
                "kind": kind,
                "chance": chance,
                "null_mean": float(null.mean()),
                "null_p95": float(np.percentile(null, 95)),
                "rdm_accuracy": acc[("rdm", "plain")]["accuracy_mean"],
                f"{topo}_accuracy": ta["accuracy_mean"],
                f"{topo}_ci_low": ta["ci_low"],
                f"{topo}_ci_high": ta["ci_high"],
                f"{geo}_accuracy": ga["accuracy_mean"],
                f"{geo}_ci_low": ga["ci_low"],
                f"{geo}_ci_high": ga["ci_high"],
                "contrast": ta["accuracy_mean"] - ga["accuracy_mean"],
                "contrast_boot_mean": diff,
                "contrast_ci_low": lo,
                "contrast_ci_high": hi,
                "contrast_p": p,
                "contrast_se": se,
                "mde_80": (Z_975 + Z_80) * se,
                "power_at_effect": power,
                f"{topo}_minus_rdm": d_rdm[0],
                f"{topo}_minus_rdm_ci_low": d_rdm[1],
                f"{topo}_minus_rdm_ci_high": d_rdm[2],
                "claim_holds": holds,
                "claim": wording,
            }
        )
    return rows


def noise_rng(settings: ProtocolSettings, model: str, level_index: int, repeat: int = 0):
    """The generator of one noise draw: independent per (model, level, repeat), seeded."""
    return np.random.default_rng([settings.random_state, 1 + NOISE_MODELS.index(model), level_index, repeat])


def faithful_comparison(
    rdms, settings: ProtocolSettings, activations=None, rdm_method: str = "correlation"
) -> dict:
    """Family comparison at every noise level of every noise model (the claim tables).

    Parameters
    ----------
    rdms : ndarray, shape (n_subjects, n_regions, n_pairs)
    activations : list of ndarray, optional
        Per region, shape (n_subjects, n_stimuli, n_units); without them the ``activation``
        model is skipped (said in ``notes``).

    Returns
    -------
    dict
        ``summary``, ``samples``, ``tests``, ``claims`` (DataFrames), ``sd_ratio`` (float),
        ``notes`` (list of str). All five families run under the ``pooled`` model (the
        authors'); the sensitivity models run the contrasted families and the plain RDM.
    """
    vectors, subjects, _, n_cond = ident._design(rdms)
    n_subj, n_reg = rdms.shape[:2]
    rng = np.random.default_rng([settings.random_state, 0])
    plan = sample_plan(settings.kinds, settings.family_samples, rng)
    draws = ident.bootstrap_samples(subjects, n_cond, settings.n_boot, rng)
    weights = ident.draw_weights(draws, n_subj, n_cond)
    contrast_keys = [("rdm", "plain")] + [(k, f) for k in settings.kinds for f in settings.contrast]
    out = {"summary": [], "samples": [], "tests": [], "claims": [], "notes": []}
    for model in settings.noise_models:
        if model == "activation" and activations is None:
            out["notes"].append(
                "activation-space noise not run: the RDM stack carries no "
                "activations (only the simulated networks do)"
            )
            continue
        keys = list(plan) if model == "pooled" else contrast_keys
        for i, level in enumerate(settings.levels(model)):
            noisy = noisy_vectors(
                model, level, vectors, noise_rng(settings, model, i), activations, rdm_method
            )
            stack = noisy.reshape(rdms.shape)
            scores = _score_plan(stack, plan, keys, weights, settings.zero_edges)
            summary, samples, boots = _family_rows(model, level, plan, keys, scores)
            null = permutation_null(
                stack, settings.n_null, np.random.default_rng([settings.random_state, 99, i])
            )
            out["summary"] += summary
            out["samples"] += samples
            out["tests"] += _test_rows(model, level, boots, settings.n_boot)
            out["claims"] += _claim_rows(
                model, level, boots, summary, null, rdm_noise(vectors, noisy), settings, 1.0 / n_reg
            )
    tables = {k: pd.DataFrame(out[k]) for k in ("summary", "samples", "tests", "claims")}
    return {**tables, "sd_ratio": sd_ratio(vectors), "notes": out["notes"]}


def nested_selection(stack: np.ndarray, kind: str, pairs, zero_edges: str = "drop"):
    """Held-out choice of (lower, upper): nested leave-one-subject-out on the grid.

    For each held-out subject, every (l, u) of `pairs` is scored by leave-one-subject-out
    identification among the *other* subjects only; the best (first on ties) is then used
    to identify the held-out subject's regions from the other subjects' centroids.

    Parameters
    ----------
    stack : ndarray, shape (n_subjects, n_regions, n_pairs)
    kind : {"rgtm", "rgdm"}
    pairs : list of (float, float)

    Returns
    -------
    accuracy : float
        Held-out identification accuracy with per-fold chosen (l, u).
    chosen : list of (float, float)
        The pair chosen in each outer fold.
    best_of_grid : float
        The largest accuracy over the grid on all subjects (selection on the evaluation
        data; optimistic, for comparison).
    """
    n_subj, n_reg, n_pair = stack.shape
    ranked = rank_minmax(stack.reshape(n_subj * n_reg, n_pair))  # shared by every (l, u)
    inner = np.empty((len(pairs), n_subj))
    outer = np.empty((len(pairs), n_subj))
    for j, (lo, up) in enumerate(pairs):
        gt = geotopological(ranked, lo, up, normalize=False)
        t = gt if kind == "rgtm" else geodesic(gt, zero_edges)
        gram = ident.weighted_gram(t.reshape(stack.shape))
        outer[j] = ident.loo_correct_from_gram(gram, np.ones(n_subj)).mean(axis=1)
        without = 1.0 - np.eye(n_subj)  # row s: every subject but s
        inner[j] = ident.loo_correct_from_gram(gram, without).sum(axis=(1, 2)) / ((n_subj - 1) * n_reg)
    best = np.argmax(inner, axis=0)
    return (
        float(outer[best, np.arange(n_subj)].mean()),
        [pairs[b] for b in best],
        float(outer.mean(axis=1).max()),
    )


def selection_table(rdms, settings: ProtocolSettings) -> pd.DataFrame:
    """Nested (l, u) selection per noise level of the authors' noise, over noise draws.

    Returns
    -------
    DataFrame
        ``noise_level``, ``kind``, ``accuracy`` (mean over draws), ``accuracy_sd``,
        ``best_of_grid`` (same-draw maximum, optimistic), ``optimism``, ``chosen`` (the
        most frequent pair), ``n_repeats``, ``n_pairs``.
    """
    vectors = ident._design(rdms)[0]
    pairs = lu_grid(settings.selection_resolution)
    rows = []
    for i, level in enumerate(settings.noise_levels):
        repeats = 1 if level == 0 else settings.n_repeats
        draws = [
            noisy_vectors("pooled", level, vectors, noise_rng(settings, "pooled", i, r)).reshape(rdms.shape)
            for r in range(repeats)
        ]
        for kind in settings.kinds:
            res = [nested_selection(d, kind, pairs, settings.zero_edges) for d in draws]
            accs = np.array([r[0] for r in res])
            best = np.array([r[2] for r in res])
            chosen = pd.Series([f"({lo:.2f}, {up:.2f})" for r in res for lo, up in r[1]])
            rows.append(
                {
                    "noise_level": float(level),
                    "kind": kind,
                    "accuracy": float(accs.mean()),
                    "accuracy_sd": float(accs.std()),
                    "best_of_grid": float(best.mean()),
                    "optimism": float(best.mean() - accs.mean()),
                    "chosen": chosen.value_counts().index[0],
                    "n_repeats": repeats,
                    "n_pairs": len(pairs),
                }
            )
    return pd.DataFrame(rows)
