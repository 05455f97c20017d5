"""The claim table of the tRSA stage: columns, the plain-words verdict, the protocol record."""

from __future__ import annotations

import pandas as pd

from neuroflow.rsa.noise import NOISE_LABELS

SELECTION_COLUMNS = {
    "noise_level": "noise SD / SD of all RDM entries (pooled, the authors' model)",
    "kind": "rgtm | rgdm",
    "accuracy": "held-out identification accuracy with the (l, u) chosen without the "
    "held-out subject (mean over noise draws)",
    "accuracy_sd": "SD over noise draws",
    "best_of_grid": "largest grid accuracy on all subjects (chosen on the scored data; "
    "optimistic, for comparison)",
    "optimism": "best_of_grid - accuracy",
    "chosen": "(l, u) chosen most often over folds and draws",
    "n_repeats": "noise draws",
    "n_pairs": "(l, u) pairs on the grid",
}


def claim_columns(contrast) -> dict:
    """Column descriptions of the claim table for the contrast ``(a, b)``."""
    a, b = contrast
    return {
        "noise_model": "pooled (authors' protocol, primary) | scaled | activation",
        "noise_level": "noise SD in the model's unit (see the sidecar's Protocol)",
        "rdm_noise": "resulting noise in each RDM's own units: median over RDMs of "
        "SD(noisy - clean) / SD(clean)",
        "kind": "rgtm | rgdm: the statistic kind whose families are compared",
        "primary": "yes for the paper's contrast (pooled noise, first kind)",
        "chance": "1 / number of regions (layers)",
        "null_mean": "mean accuracy of the plain RDM with labels permuted within subjects",
        "null_p95": "95th percentile of that permutation null",
        "rdm_accuracy": "plain RDM accuracy (extra baseline, not the paper's reference)",
        f"{a}_accuracy": f"{a} family accuracy (mean over its (l, u), all data)",
        f"{a}_ci_low": "2.5th bootstrap percentile of the family mean",
        f"{a}_ci_high": "97.5th bootstrap percentile",
        f"{b}_accuracy": f"{b} family accuracy",
        f"{b}_ci_low": "2.5th percentile",
        f"{b}_ci_high": "97.5th percentile",
        "contrast": f"{a} - {b} accuracy on all data",
        "contrast_boot_mean": "mean over bootstrap draws of the paired difference",
        "contrast_ci_low": "2.5th percentile of the paired bootstrap difference",
        "contrast_ci_high": "97.5th percentile",
        "contrast_p": "two-sided paired bootstrap p-value (>= 1 / n_boot)",
        "contrast_se": "bootstrap SD of the difference",
        "mde_80": "difference detectable with 80 % power (two-sided 5 %): 2.80 x SE",
        "power_at_effect": "power of the two-sided 5 % test for a difference of "
        "effect_of_interest (see the sidecar)",
        f"{a}_minus_rdm": f"{a} family - plain RDM (bootstrap mean)",
        f"{a}_minus_rdm_ci_low": "2.5th percentile",
        f"{a}_minus_rdm_ci_high": "97.5th",
        "selected_accuracy": "held-out (nested leave-one-subject-out) choice of (l, u) on the "
        "grid: accuracy (pooled noise only; mean over noise draws)",
        "selection_optimism": "best-of-grid on the same data minus selected_accuracy",
        "pooled_to_within_sd": "SD of all RDM entries / median within-RDM SD (noise-free)",
        "claim_holds": f"yes: {a} identifies at least as well as {b} (interval above "
        "-effect_of_interest); no: worse (interval below 0); inconclusive",
        "claim": "the verdict in words",
    }


def claim_table(result: dict, selection: pd.DataFrame, p) -> pd.DataFrame:
    """The claims of :func:`neuroflow.rsa.claims.faithful_comparison` with the held-out
    selection, the SD ratio and a ``primary`` flag, in a fixed column order."""
    claims = result["claims"].copy()
    claims.insert(
        4,
        "primary",
        ((claims["noise_model"] == "pooled") & (claims["kind"] == p.kinds[0])).map(
            {True: "yes", False: "no"}
        ),
    )
    sel = selection.rename(columns={"accuracy": "selected_accuracy", "optimism": "selection_optimism"})
    sel = sel[["noise_level", "kind", "selected_accuracy", "selection_optimism"]]
    sel = sel.assign(noise_model="pooled")
    claims = claims.merge(sel, on=["noise_model", "noise_level", "kind"], how="left")
    claims["pooled_to_within_sd"] = result["sd_ratio"]
    tail = ["claim_holds", "claim"]
    return claims[[c for c in claims.columns if c not in tail] + tail]


def _levels(rows: pd.DataFrame, answer: str) -> str:
    return ", ".join(f"{x:g}" for x in rows[rows["claim_holds"] == answer]["noise_level"])


def claim_summary(claims: pd.DataFrame, p, sd_ratio: float) -> str:
    """The verdict in plain words: per noise model, at which levels the claim holds."""
    a, b = p.contrast
    parts = [
        f"Claim tested: the {a}-sensitive family identifies regions at least as well as "
        f"the {b}-sensitive family (non-inferiority margin {p.effect:g}; paired "
        f"bootstrap over subjects and stimuli, {p.n_boot} draws)."
    ]
    for (model, kind), rows in claims.groupby(["noise_model", "kind"], sort=False):
        said = [
            f"{label} at noise {levels}"
            for label, answer in (("holds", "yes"), ("fails", "no"), ("inconclusive", "inconclusive"))
            if (levels := _levels(rows, answer))
        ]
        worst = rows.loc[rows["contrast"].idxmin()]
        parts.append(
            f"{model} noise, {kind.upper()}: " + "; ".join(said) + f" (largest "
            f"deficit {worst['contrast']:+.3f} at {worst['noise_level']:g}; "
            f"median power for {p.effect:g}: {rows['power_at_effect'].median():.2f})."
        )
    primary = claims[claims["primary"] == "yes"]
    if not primary.empty:
        where = f"the primary analysis (pooled noise, {primary['kind'].iloc[0].upper()})"
        if (primary["claim_holds"] == "yes").all():
            parts.append(f"The claim HOLDS at every noise level of {where}.")
        elif (primary["claim_holds"] == "no").any():
            parts.append(
                f"The claim does NOT hold at every level of {where}: it fails at "
                f"noise {_levels(primary, 'no')}."
            )
        else:
            parts.append(
                f"The claim is NOT ESTABLISHED at every level of {where}: "
                f"inconclusive at noise {_levels(primary, 'inconclusive')}."
            )
    parts.append(
        f"Pooled-to-within-RDM SD ratio {sd_ratio:.2f}: pooled noise of level x is "
        f"about {sd_ratio:.2f} x in each RDM's own units."
    )
    return " ".join(parts)


def protocol_description(p) -> dict:
    """The protocol as recorded in the claim table's sidecar."""
    return {
        "NoiseModels": {m: NOISE_LABELS[m] for m in p.noise_models},
        "NoiseLevels": list(p.noise_levels),
        "ActivationNoiseLevels": list(p.activation_noise_levels),
        "Kinds": list(p.kinds),
        "Contrast": list(p.contrast),
        "FamilySamples": p.family_samples,
        "NBoot": p.n_boot,
        "NNull": p.n_null,
        "EffectOfInterest": p.effect,
        "SelectionGridResolution": p.selection_resolution,
        "NoiseDrawsForSelection": p.n_repeats,
        "ZeroEdges": p.zero_edges,
        "RandomState": p.random_state,
        "FamilyComparison": "one noise draw per level (as the authors' data sets); all five "
        "families under pooled noise, the contrasted two under the "
        "sensitivity models; the same (l, u) pairs and bootstrap draws "
        "at every level (paired)",
    }
