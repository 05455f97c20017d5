"""The claim table of the core-set benchmark: SCLCS against random and the best baseline.

Per task and metric (:data:`neuroflow.fc.ranking.METRICS`), at the claim core-set size:

- each method's mean and SD over selection seeds;
- the random-permutation null of the metric (mean and 95th percentile) and the split-half
  noise ceiling (agreement of the ground-truth rankings of two random halves of the
  evaluation subjects; a conservative ceiling, each half having half the subjects);
- the contrast target - reference (SCLCS, its draw-frequency-corrected variant and top-k
  SPS, each against random and against the best non-random baseline, chosen by its mean on
  the same metric): difference of means over independent units (seeds; for SPS-based
  selectors the SCLCS trainings, their seeds averaged), a seeded percentile-bootstrap interval,
  a one-sided Mann-Whitney p, and the minimum detectable difference at the seed counts
  (one-sided two-sample t-test, ``statsmodels`` ``TTestIndPower``);
- flags: ``saturated`` (the task is at its ceiling: the k-th best ground-truth score is
  within ``saturation_margin`` of 1, so the top operators differ by noise only; or the
  split-half ceiling of the metric is within the margin of 1 for every ranking, random
  included) and ``near_noise`` (the ceiling is within ``noise_margin`` of the null: the
  ground-truth ranking itself is barely reproducible). Flagged rows are reported, not
  counted.

The split-half ceiling scores each half on different held-out subjects, while a core-set and
the ground truth share the held-out windows (and their evaluation noise): a selector can
exceed the ceiling. It says how reproducible the ground-truth ranking is, not the best score
a selector can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Non-random baselines the paper's "best SOTA" refers to.
BASELINES = ("kcenter", "herding", "el2n")
#: Methods whose claim is tested (SCLCS, its corrected variant, top-k SPS).
TARGETS = ("sclcs", "sclcs_drawcorr", "sps_topk")


@dataclass(frozen=True)
class ClaimSettings:
    """``fc.claim`` of the validated config (plus ``fc.ndcg_k``, ``fc.claim_fraction``)."""

    k: int
    fraction: float
    permutations: int
    ceiling_splits: int
    bootstrap: int
    alpha: float
    power: float
    saturation_margin: float
    noise_margin: float
    seed: int

    @classmethod
    def from_config(cls, fc: dict) -> ClaimSettings:
        c = fc["claim"]
        return cls(
            int(fc["ndcg_k"]),
            float(fc["claim_fraction"]),
            int(c["permutations"]),
            int(c["ceiling_splits"]),
            int(c["bootstrap"]),
            float(c["alpha"]),
            float(c["power"]),
            float(c["saturation_margin"]),
            float(c["noise_margin"]),
            int(c["seed"]),
        )


def minimum_detectable_difference(
    sd_a: float, sd_b: float, n_a: int, n_b: int, alpha: float, power: float
) -> float:
    """Smallest difference of means a one-sided two-sample t-test detects with ``power``.

    The standardized effect from ``statsmodels.stats.power.TTestIndPower.solve_power``
    times the pooled SD. NaN when a group has < 2 seeds.
    """
    from statsmodels.stats.power import TTestIndPower

    if n_a < 2 or n_b < 2:
        return float("nan")
    pooled = np.sqrt(((n_a - 1) * sd_a**2 + (n_b - 1) * sd_b**2) / (n_a + n_b - 2))
    if not np.isfinite(pooled):
        return float("nan")
    d = TTestIndPower().solve_power(
        effect_size=None, nobs1=n_a, alpha=alpha, power=power, ratio=n_b / n_a, alternative="larger"
    )
    return float(np.asarray(d).item() * pooled)


def contrast(a, b, n_boot: int, seed: int, alpha: float, power: float) -> dict:
    """mean(a) - mean(b) with a percentile-bootstrap interval (1 - 2 alpha, i.e. the
    interval of the one-sided test), one-sided Mann-Whitney p (a > b) and the MDD."""
    from scipy.stats import mannwhitneyu

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    out = {
        "difference": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_one_sided": np.nan,
        "mdd": np.nan,
        "degenerate": False,
        "units": 0,
    }
    if a.size == 0 or b.size == 0:
        return out
    rng = np.random.default_rng(seed)
    boots = a[rng.integers(0, a.size, (n_boot, a.size))].mean(1) - b[
        rng.integers(0, b.size, (n_boot, b.size))
    ].mean(1)
    lo, hi = np.quantile(boots, [alpha, 1 - alpha])
    p = float(mannwhitneyu(a, b, alternative="greater").pvalue) if min(a.size, b.size) > 1 else np.nan
    sd_a = a.std(ddof=1) if a.size > 1 else np.nan
    sd_b = b.std(ddof=1) if b.size > 1 else np.nan
    out["degenerate"] = bool(np.ptp(a) == 0 and np.ptp(b) == 0)
    out["units"] = int(min(a.size, b.size))
    out.update(
        difference=float(a.mean() - b.mean()),
        ci_low=float(lo),
        ci_high=float(hi),
        p_one_sided=p,
        mdd=minimum_detectable_difference(sd_a, sd_b, a.size, b.size, alpha, power),
    )
    return out


def _mean_sd(a) -> tuple[float, float]:
    a = np.asarray(a, dtype=float)
    a = a[np.isfinite(a)]
    return (float(a.mean()) if a.size else np.nan, float(a.std(ddof=1)) if a.size > 1 else np.nan)


def _verdict(c: dict, saturated: bool, near_noise: bool) -> str:
    if saturated:
        return "not counted: saturated"
    if near_noise:
        return "not counted: near noise"
    if not np.isfinite(c["difference"]):
        return "not tested"
    if c.get("units", 2) < 2:
        return "not tested: one independent unit (raise fc.sclcs.train_seeds)"
    if c.get("degenerate"):
        return "not tested: no seed variation in either method (raise sclcs.train_seeds)"
    if c["ci_low"] > 0:
        return "better"
    if c["ci_high"] < 0:
        return "worse"
    return f"no detectable difference (MDD {c['mdd']:.3g})"


def _comparisons(part: pd.DataFrame, metric: str) -> list[tuple[str, str]]:
    means = part.groupby("selector")[metric].mean()
    present = set(means.index)
    base = [b for b in BASELINES if b in present and np.isfinite(means[b])]
    refs = (["random"] if "random" in present else []) + (
        [max(base, key=lambda b: (means[b], b))] if base else []
    )
    return [(t, r) for t in TARGETS if t in present for r in refs]


def unit_values(part: pd.DataFrame, selector: str, metric: str) -> tuple[np.ndarray, int]:
    """A selector's metric per independent unit, and its number of seeds.

    Seeds of top-k SPS that share one SCLCS training give the same core-set: an ``agree``
    column ``unit`` names the training, and the seeds' mean per unit is what the contrast
    resamples. Without it every seed is a unit.
    """
    rows = part[part.selector == selector]
    if "unit" not in rows.columns:
        return rows[metric].to_numpy(float), len(rows)
    return rows.groupby("unit", sort=True)[metric].mean().to_numpy(float), len(rows)


def claim_table(
    agree: pd.DataFrame, nulls: dict, ceilings: dict, s: ClaimSettings, kth_best: dict | None = None
) -> pd.DataFrame:
    """The claim table.

    Parameters
    ----------
    agree : DataFrame
        One row per selector x fraction x seed x task with one column per metric (and
        optionally ``unit``, see :func:`unit_values`).
    nulls : dict
        (task, metric) -> ndarray of the metric under random permutations.
    ceilings : dict
        (task, metric) -> split-half noise ceiling (mean over splits).
    kth_best : dict, optional
        task -> the k-th best ground-truth score (saturation of the task).
    """
    fracs = np.unique(agree.fraction.to_numpy(float))
    f0 = float(fracs[np.argmin(np.abs(fracs - s.fraction))])
    rows = []
    for (task, metric), null in nulls.items():
        part = agree[(agree.fraction == f0) & (agree.task == task)]
        null_mean = _mean_sd(null)[0]
        ceiling = float(ceilings[(task, metric)])
        top = (kth_best or {}).get(task, np.nan)
        saturated = bool(ceiling >= 1 - s.saturation_margin or top >= 1 - s.saturation_margin)
        near_noise = bool(not np.isfinite(ceiling) or ceiling - null_mean < s.noise_margin)
        for target, ref in _comparisons(part, metric):
            a, n_a = unit_values(part, target, metric)
            b, n_b = unit_values(part, ref, metric)
            c = contrast(a, b, s.bootstrap, s.seed, s.alpha, s.power)
            (am, asd), (bm, bsd) = _mean_sd(a), _mean_sd(b)
            rows.append(
                {
                    "task": task,
                    "metric": metric,
                    "fraction": f0,
                    "method": target,
                    "method_mean": am,
                    "method_sd": asd,
                    "reference": ref,
                    "reference_kind": "random" if ref == "random" else "best baseline",
                    "reference_mean": bm,
                    "reference_sd": bsd,
                    **c,
                    "n_seeds": n_a,
                    "n_units": int(np.isfinite(a).sum()),
                    "n_reference_seeds": n_b,
                    "n_reference_units": int(np.isfinite(b).sum()),
                    "null_mean": null_mean,
                    "null_q95": float(np.nanquantile(null, 0.95)) if np.isfinite(null).any() else np.nan,
                    "noise_ceiling": ceiling,
                    "kth_best_score": top,
                    "saturated": saturated,
                    "near_noise": near_noise,
                    "counted": not (saturated or near_noise or c["degenerate"] or c["units"] < 2),
                    "verdict": _verdict(c, saturated, near_noise),
                }
            )
    return pd.DataFrame(rows)


CLAIM_COLUMNS = {
    "metric": "ranking-agreement metric (ndcg_linear, ndcg_binary, topk_overlap, kendall_tau)",
    "fraction": "core-set size (fraction of the selection pool)",
    "method": "selector whose claim is tested",
    "method_mean": "its mean over independent units",
    "method_sd": "its SD over units (a unit = a seed; for top-k SPS, one SCLCS training)",
    "n_units": "independent units of the method (the contrast, its interval and the MDD use them)",
    "n_seeds": "selection seeds of the method",
    "reference_mean": "the reference's mean over its units",
    "reference_sd": "its SD over units",
    "n_reference_seeds": "selection seeds of the reference",
    "n_reference_units": "independent units of the reference",
    "reference": "selector compared with (random, or the best non-random baseline by mean)",
    "reference_kind": "random | best baseline",
    "difference": "method mean - reference mean",
    "ci_low": "lower end of the seeded percentile-bootstrap interval (1 - 2 alpha) of the difference",
    "ci_high": "upper end of that interval",
    "p_one_sided": "one-sided Mann-Whitney U p (method seeds > reference seeds)",
    "mdd": "minimum detectable difference (one-sided t-test at alpha and power) at these seed counts",
    "null_mean": "mean of the metric for random permutations of the operators",
    "null_q95": "95th percentile of that null",
    "noise_ceiling": "split-half noise ceiling: agreement of the ground-truth rankings on two "
    "disjoint halves of the evaluation subjects (its reproducibility; a selector, "
    "which shares the evaluation windows with the ground truth, can exceed it)",
    "kth_best_score": "the k-th best ground-truth task score (accuracy near 1 = saturated task)",
    "saturated": "task or metric ceiling near 1 (top operators differ by noise only): not counted",
    "near_noise": "ceiling within the margin of the null: ground truth barely reproducible, not counted",
    "degenerate": "both methods gave the same value at every seed (deterministic selectors, one "
    "SCLCS training): the seed interval says nothing, not tested",
    "counted": "row counts toward the claim",
    "verdict": "better / worse (interval excludes 0) / no detectable difference / not counted",
}
