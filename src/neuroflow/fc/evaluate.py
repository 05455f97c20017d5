"""Rule ``fc_evaluate``: score every core-set's operators, compare rankings, write the claim.

Two protocols (``fc.protocol``; :mod:`neuroflow.fc.protocol`):

``heldout``
    Ground truth = each operator's task models trained on the whole selection pool and
    scored on the fixed subject-disjoint held-out set; a core-set's scores = the same
    models trained on the core-set, scored on the same held-out set. Split-half ceiling:
    the ground truth on two random halves of the held-out subjects.
``insample``
    The earlier test: the ground truth on all samples (the benchmark table), each core-set
    scored on itself; ceiling from two random subject halves of all samples.

Operators whose ground-truth scores (every task, every half) are identical rank
identically; all but the first are dropped before the rankings are compared (issue 19).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neuroflow.fc.claims import CLAIM_COLUMNS, ClaimSettings, claim_table
from neuroflow.fc.protocol import (
    TRAINED_TASKS,
    HeldoutSettings,
    fit_operator,
    heldout_predictions,
    heldout_scores,
    heldout_split,
    split_halves,
)
from neuroflow.fc.ranking import METRICS, agreement, duplicate_groups, permutation_null
from neuroflow.provenance import write_tsv


class HeldoutScorer:
    """Scores (n_operators, n_tasks) of models trained on given windows, on the held-out set."""

    def __init__(self, td, heldout: np.ndarray, label_alpha: float):
        self.td, self.test, self.label_alpha = td, np.flatnonzero(heldout), label_alpha
        self.pool = np.flatnonzero(~heldout)
        self.excluded = td.excluded[np.ix_(self.test, self.test)]
        self.subjects = td.subjects[self.test]
        self.labels = td.labels[self.test] if td.labels is not None else np.full(self.test.size, "")

    def _predict(self, train):
        lab = self.td.labels[train] if self.td.labels is not None else np.full(train.size, "")
        return [
            heldout_predictions(
                fit_operator(F[train], self.td.subjects[train], lab, self.td.tasks, self.label_alpha),
                F[self.test],
            )
            for F in self.td.features
        ]

    def _score(self, preds, subset=None):
        return np.stack(
            [
                heldout_scores(p, self.subjects, self.labels, self.excluded, self.td.tasks, subset)
                for p in preds
            ]
        )

    def truth_and_halves(self, n_splits: int, seed: int):
        preds = self._predict(self.pool)
        halves = [
            (self._score(preds, m), self._score(preds, ~m))
            for m in split_halves(self.subjects, self.labels, n_splits, seed)
        ]
        return self._score(preds), halves

    def core(self, idx):
        return self._score(self._predict(np.asarray(idx)))


class InsampleScorer:
    """Scores of each window set on itself (the earlier protocol)."""

    def __init__(self, td):
        self.td = td

    def truth_and_halves(self, n_splits: int, seed: int):
        labels = self.td.labels if self.td.labels is not None else np.full(self.td.subjects.size, "")
        halves = [
            (self.td.scores(np.flatnonzero(m)), self.td.scores(np.flatnonzero(~m)))
            for m in split_halves(self.td.subjects, labels, n_splits, seed)
        ]
        return self.td.scores(), halves


def make_scorer(td, heldout_mask, settings: HeldoutSettings):
    if settings.protocol == "heldout":
        return HeldoutScorer(td, heldout_mask, td.label_alpha)
    scorer = InsampleScorer(td)
    scorer.core = td.scores
    return scorer


def deduplicate(names, truth, halves) -> tuple[np.ndarray, dict]:
    """Keep mask over operators and {kept: [duplicates]} from identical score rows."""
    rows = np.hstack([truth] + [np.hstack(h) for h in halves])
    groups = duplicate_groups(rows, list(names))
    dropped = {d for ds in groups.values() for d in ds}
    return np.array([n not in dropped for n in names]), groups


def nulls_and_ceilings(tasks, truth, halves, s: ClaimSettings):
    """(task, metric) -> permutation-null array, (task, metric) -> split-half ceiling (mean),
    and task -> the k-th best ground-truth score."""
    nulls, ceilings, kth = {}, {}, {}
    for t, task in enumerate(tasks):
        finite = np.sort(truth[np.isfinite(truth[:, t]), t])[::-1]
        kth[task] = float(finite[min(s.k, finite.size) - 1]) if finite.size else np.nan
        null = permutation_null(truth[:, t], s.k, s.permutations, s.seed + t)
        per_split = [agreement(a[:, t], b[:, t], s.k) for a, b in halves]
        for m in METRICS:
            nulls[(task, m)] = null[m]
            vals = np.array([d[m] for d in per_split], dtype=float)
            ceilings[(task, m)] = float(np.nanmean(vals)) if np.isfinite(vals).any() else np.nan
    return nulls, ceilings, kth


def agreement_table(scorer, sel, tasks, truth, keep, k: int, train_seeds: int = 0, log=print) -> pd.DataFrame:
    """One row per selector x fraction x seed x task with every metric; ``unit`` = the SCLCS
    training top-k SPS used (seed modulo ``train_seeds``: it is deterministic given the
    training, so its seeds of one training are one core-set), else the seed (SCLCS samples
    anew at every seed; its seeds share the trainings, so its interval is conditional on them)."""
    rows = []
    for name in sel["selector"].values:
        log(f"evaluating the core-sets of selector {name}")
        for frac in sel["fraction"].values:
            for seed in sel["seed"].values:
                idx = np.flatnonzero(sel.sel(selector=name, fraction=frac, seed=seed).values)
                core = scorer.core(idx)
                for t, task in enumerate(tasks):
                    unit = (
                        f"training{int(seed) % train_seeds}"
                        if name == "sps_topk" and train_seeds
                        else f"seed{int(seed)}"
                    )
                    rows.append(
                        {
                            "selector": str(name),
                            "fraction": float(frac),
                            "seed": int(seed),
                            "unit": unit,
                            "task": task,
                            "k": idx.size,
                            **agreement(truth[keep, t], core[keep, t], k),
                        }
                    )
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and SD over seeds per selector x fraction x task."""
    agg = {"n_seeds": ("seed", "nunique"), "k": ("k", "first")}
    for m in METRICS:
        agg[f"{m}_mean"] = (m, "mean")
        agg[f"{m}_sd"] = (m, "std")
    return table.groupby(["selector", "fraction", "task"], sort=False).agg(**agg).reset_index()


def truth_table(names, tasks, truth, groups) -> pd.DataFrame:
    dup_of = {d: k for k, ds in groups.items() for d in ds}
    table = pd.DataFrame({"operator": list(names)})
    for t, task in enumerate(tasks):
        table[f"{task}_score"] = truth[:, t]
    table["duplicate_of"] = [dup_of.get(n, "") for n in names]
    return table


def write_claim(claim: pd.DataFrame, path, title: str, notes: list[str], sources, *, simulated: bool) -> None:
    counted = claim[claim.counted] if len(claim) else claim
    text = (
        f"{title}. " + " ".join(notes) + f" {int(len(counted))} of {len(claim)} rows counted "
        "(saturated / near-noise rows are reported, not counted)."
    )
    columns = {
        "task": "downstream task",
        **CLAIM_COLUMNS,
        "units": {
            "Description": "independent units in the smaller of the two groups "
            "compared (fewer than 2: not counted)",
            "Units": "count",
        },
    }
    write_tsv(claim, path, text, columns, sources=sources, simulated=simulated)


def protocol_notes(settings: HeldoutSettings, s: ClaimSettings, heldout, td, groups, n_ops) -> list[str]:
    notes = list(td.notes)
    if settings.protocol == "heldout":
        n_sub = np.unique(td.subjects[heldout]).size
        notes.append(
            f"Protocol heldout: {int(heldout.sum())} windows of {n_sub} subjects held out "
            f"(fraction {settings.fraction}, seed {settings.seed}); models trained on the "
            "core-set (ground truth: the whole pool) and scored on them."
        )
    else:
        notes.append("Protocol insample: each core-set scored on itself (not the paper's test).")
    if groups:
        notes.append(
            "Operators that rank identically, dropped before the comparison: "
            + "; ".join(f"{', '.join(v)} (= {k})" for k, v in groups.items())
            + "."
        )
    notes.append(
        f"{n_ops} operators ranked; k = {s.k}; null from {s.permutations} permutations; "
        f"ceiling from {s.ceiling_splits} split halves; alpha {s.alpha}, power {s.power}."
    )
    return notes


def evaluate(
    td, sel, heldout, settings: HeldoutSettings, s: ClaimSettings, names, log=print, train_seeds: int = 0
):
    """Everything ``fc_evaluate`` writes, computed: (agreement, summary, claim, truth, notes)."""
    if settings.protocol == "heldout":
        td.tasks = [t for t in td.tasks if t in TRAINED_TASKS]
        td.notes.append(
            "sfc task not evaluated under the heldout protocol (nothing is trained, "
            "so a core-set cannot change it)."
        )
    scorer = make_scorer(td, heldout, settings)
    truth, halves = scorer.truth_and_halves(s.ceiling_splits, s.seed)
    keep, groups = deduplicate(names, truth, halves)
    nulls, ceilings, kth = nulls_and_ceilings(
        td.tasks, truth[keep], [(a[keep], b[keep]) for a, b in halves], s
    )
    table = agreement_table(scorer, sel, td.tasks, truth, keep, s.k, train_seeds, log)
    claim = claim_table(table, nulls, ceilings, s, kth)
    notes = protocol_notes(settings, s, heldout, td, groups, int(keep.sum()))
    return table, summarize(table), claim, truth_table(names, td.tasks, truth, groups), notes


def check_heldout(sel_ds, heldout: np.ndarray, path) -> None:
    """The selections' stored held-out set must be this config's, and no core-set may hold a
    held-out window."""
    stored = sel_ds["heldout"].values.astype(bool)
    if not np.array_equal(stored, heldout):
        raise ValueError(f"{path}: its held-out set differs from the one of fc.heldout (rerun fc_select)")
    if (sel_ds["selected"].values.astype(bool) & heldout).any():
        raise ValueError(f"{path}: a core-set holds a held-out window")


def heldout_mask(samples, td_labels, settings: HeldoutSettings) -> np.ndarray:
    subj = samples["sample_subject"].values
    if settings.protocol != "heldout":
        return np.zeros(subj.size, dtype=bool)
    labels = td_labels if td_labels is not None else np.full(subj.size, "")
    return heldout_split(subj, labels, settings.fraction, settings.seed)


def sources_of(*paths) -> list[str]:
    return [Path(p).name for p in paths]
