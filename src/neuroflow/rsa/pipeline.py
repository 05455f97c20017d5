"""File-level entry points of the tRSA rules (one function per rule).

Each function reads its inputs, calls the pure functions of :mod:`neuroflow.rsa`, and
writes its outputs atomically (NetCDF, TSV + JSON sidecar, PNG); a failure leaves nothing
partial behind. Simulated data are labelled as such in every output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from neuroflow.io.haxby import read_haxby
from neuroflow.io.haxby import require_file as _check_file
from neuroflow.output_schema import is_simulated
from neuroflow.provenance import read_netcdf, write_json, write_tsv
from neuroflow.rsa.outputs import MODEL_COLUMNS, STAT_COLUMNS, provenance_attrs, write_rsa_netcdf
from neuroflow.rsa.readers import read_activations, read_rdm_stack
from neuroflow.rsa.settings import IdentificationSettings, statistics_from_config


# ----------------------------------------------------------------------------- Haxby fMRI
def haxby_rdm_file(
    bold,
    mask,
    attributes,
    out_nc,
    *,
    subject: str,
    task: str,
    baseline: str = "rest",
    hrf_model: str = "spm",
    high_pass: float = 1 / 128,
    noise_method: str = "shrinkage_diag",
    tr: float | None = None,
) -> None:
    """Run-wise GLM + noise-normalised crossnobis RDM of the Haxby conditions -> NetCDF.

    The NetCDF holds ``rdm`` (pair; crossnobis, per voxel), ``rdm_correlation`` (pair;
    correlation distance of the run-averaged betas, for comparison) and ``beta`` (run,
    condition, voxel; percent signal change).
    """
    from neuroflow.rsa.rdm import correlation_rdm, crossnobis_vector, haxby_rdm_dataset, runwise_glm

    timeseries, labels, runs, voxels, header_tr = read_haxby(bold, mask, attributes)
    tr = float(tr or header_tr)
    conditions = sorted(set(labels) - {baseline})
    if len(conditions) < 3:
        raise ValueError(
            f"attributes table {attributes}: need >= 3 conditions besides {baseline!r}, found {conditions}"
        )
    betas, residuals, dof, run_ids = runwise_glm(
        timeseries, labels, runs, tr, conditions, baseline, hrf_model, high_pass
    )
    crossnobis = crossnobis_vector(betas, conditions, run_ids, residuals, dof, noise_method)
    correlation = correlation_rdm(betas.mean(axis=0), conditions).get_vectors()[0]
    ds = haxby_rdm_dataset(crossnobis, correlation, betas, conditions, run_ids, voxels, noise_method)
    ds.attrs.update(
        provenance_attrs(
            [bold, mask, attributes],
            {
                "tr_s": tr,
                "baseline": baseline,
                "hrf_model": hrf_model,
                "high_pass_hz": high_pass,
                "noise_method": noise_method,
                "residual_dof": dof,
            },
        )
    )
    ds.attrs.update(
        subject=subject,
        task=task,
        n_volumes=int(len(labels)),
        n_voxels=int(len(voxels)),
        n_runs=int(len(run_ids)),
    )
    write_rsa_netcdf(ds, out_nc, simulated=False, sources=[bold, mask, attributes])


def model_comparison_file(
    rdm_nc,
    out_tsv,
    out_png,
    out_rdm_png,
    *,
    models: dict,
    statistics,
    method: str = "corr",
    n_boot: int = 200,
    zero_edges: str = "drop",
    random_state: int = 0,
) -> None:
    """Compare category models with the Haxby RDM for every statistic (rsatoolbox)."""

    from neuroflow.rsa.figures import plot_model_comparison, plot_rdm_statistics
    from neuroflow.rsa.models import category_models, compare_models

    stats = statistics_from_config(statistics, "trsa.haxby.statistics")
    ds = read_netcdf(_check_file(rdm_nc, "RDM file"), "RDM file")
    data = ds["rdm"].values.astype(float)
    conditions = [str(c) for c in ds["condition"].values]
    subject, task = ds.attrs.get("subject", "?"), ds.attrs.get("task", "?")
    if not models:
        raise ValueError("config key trsa.haxby.models: at least one model is needed")
    model_rdms = category_models(conditions, models, "trsa.haxby.models")
    table = compare_models(data, model_rdms, conditions, stats, method, n_boot, zero_edges, random_state)
    table.insert(0, "subject", subject)
    write_tsv(
        table,
        out_tsv,
        f"rsatoolbox model comparison of the sub-{subject} task-{task} crossnobis RDM "
        f"with category models, per representational statistic (data and models "
        f"transformed alike; comparison '{method}', {n_boot} bootstrap samples of "
        "conditions).",
        {**STAT_COLUMNS, **MODEL_COLUMNS},
        sources=[Path(rdm_nc).name],
        simulated=is_simulated(ds.attrs, rdm_nc),
    )
    plot_model_comparison(
        table,
        out_png,
        f"sub-{subject} (Haxby 2001): category models vs crossnobis RDM, per statistic",
        method,
    )
    plot_rdm_statistics(
        data,
        conditions,
        stats,
        out_rdm_png,
        f"sub-{subject} (Haxby 2001) crossnobis RDM under each statistic",
        zero_edges,
    )


# ----------------------------------------------------------------------------- head direction
def headdirection_files(
    units,
    out_nc,
    out_tsv,
    out_png,
    out_fig_models,
    *,
    subject: str,
    n_bins: int = 36,
    epoch: str = "wake",
    location: str = "adn",
    rdm_method: str = "correlation",
    statistics=(),
    method: str = "corr",
    n_boot: int = 200,
    zero_edges: str = "drop",
    random_state: int = 0,
) -> None:
    """Head-direction tuning curves -> RDM over angle bins -> ring vs line, per statistic.

    ``units`` is the activity stage's units file of the recording
    (``<entities>_desc-units_spikes.nc``); ``subject`` labels the figures and the table.
    """
    from neuroflow.rsa.figures import plot_model_comparison, plot_tuning_and_rdm
    from neuroflow.rsa.headdirection import angle_rdm, ring_line_comparison, tuning_curves

    stats = statistics_from_config(statistics, "trsa.headdirection.statistics")
    tuning = tuning_curves(_check_file(units, "units file"), n_bins, epoch, location)
    tuning, rdm = angle_rdm(tuning, rdm_method, units)
    tuning.attrs.update(
        provenance_attrs(
            [units], {"n_bins": n_bins, "epoch": epoch, "location": location, "rdm_method": rdm_method}
        )
    )
    tuning.attrs["subject"] = subject
    simulated = is_simulated(read_netcdf(units, "units file").attrs, units)
    write_rsa_netcdf(tuning, out_nc, simulated=simulated, sources=[units])
    table = ring_line_comparison(
        rdm, tuning["angle_bin"].values, stats, method, n_boot, zero_edges, random_state
    )
    table.insert(0, "subject", subject)
    write_tsv(
        table,
        out_tsv,
        f"Ring (circular angular distance) vs line (linear distance of bin centres) "
        f"model RDMs against the head-direction RDM of sub-{subject} ({location} units, "
        f"{epoch} epoch, {n_bins} bins), per statistic (rsatoolbox, '{method}', "
        f"{n_boot} bootstrap samples of angle bins).",
        {**STAT_COLUMNS, **MODEL_COLUMNS},
        sources=[Path(units).name],
        simulated=simulated,
    )
    plot_tuning_and_rdm(
        tuning, rdm, out_png, f"sub-{subject}: {tuning.sizes['unit']} {location} units, {epoch}"
    )
    plot_model_comparison(
        table, out_fig_models, f"sub-{subject} head direction: ring vs line model, per statistic", method
    )


# ----------------------------------------------------------------------------- simulation
def network_rdms_file(out_nc, **params) -> None:
    """Train the simulated network instances and write their layer RDMs (NetCDF);
    ``params``: the keyword arguments of
    :func:`neuroflow.rsa.networks.simulate_network_rdms`."""
    from neuroflow.rsa.networks import simulate_network_rdms

    write_rsa_netcdf(simulate_network_rdms(**params), out_nc, simulated=True)


def identification_files(rdm_nc, outputs: dict, settings: IdentificationSettings) -> None:
    """Identification analyses of an RDM stack: noise curves, (l, u) grid, the claim tables.

    `outputs` maps ``noise``, ``grid``, ``families``, ``samples``, ``tests``, ``claims``,
    ``selection`` (TSV) and ``fig_noise``, ``fig_grid``, ``fig_families``, ``fig_claims``
    (PNG) to paths.
    """
    from neuroflow.rsa.claims import faithful_comparison, selection_table

    rdms, dims, regions, simulated = read_rdm_stack(rdm_nc)
    activations, rdm_method = read_activations(rdm_nc, regions)
    ctx = _Context(
        what="SIMULATED " if simulated else "",
        dims=dims,
        unit=f"{dims[1]} identified across {dims[0]}s",
        src=[Path(rdm_nc).name],
        chance=1.0 / len(regions),
        shape=rdms.shape,
        simulated=simulated,
    )
    _noise_and_grid(rdms, settings, ctx, outputs)
    result = faithful_comparison(rdms, settings.protocol, activations, rdm_method)
    for note in result["notes"]:
        print(f"trsa identification: {note}")
    selection = selection_table(rdms, settings.protocol)
    _write_families(result, settings.protocol, ctx, outputs)
    _write_claims(result, selection, settings.protocol, ctx, outputs)


@dataclass(frozen=True)
class _Context:
    what: str
    dims: tuple
    unit: str
    src: list
    chance: float
    shape: tuple
    simulated: bool


def _noise_and_grid(rdms, settings: IdentificationSettings, ctx: _Context, outputs) -> None:
    """The descriptive noise curves (configured statistics) and (l, u) heat maps."""
    from neuroflow.rsa import identification as ident
    from neuroflow.rsa.figures import plot_grid, plot_noise_curves

    p = settings.protocol
    noise = ident.noise_curve(
        rdms,
        list(settings.statistics),
        settings.noise_levels,
        settings.n_repeats,
        p.zero_edges,
        p.random_state,
    )
    noise["chance"] = ctx.chance
    write_tsv(
        noise,
        outputs["noise"],
        f"{ctx.what}leave-one-{ctx.dims[0]}-out nearest-centroid identification "
        f"accuracy ({ctx.unit}) per configured statistic as Gaussian noise (the authors' "
        "pooled model) is added to the RDM entries. Descriptive; the claims rest on the "
        "family comparison (desc-claims_identification.tsv).",
        {
            **STAT_COLUMNS,
            "chance": f"chance accuracy = 1 / {ctx.shape[1]}",
            "noise_level": "noise SD / SD of all RDM entries",
            "accuracy": "fraction of RDMs whose label is identified (mean over draws)",
            "accuracy_sd": "SD over noise draws",
            "n_repeats": "noise draws",
        },
        sources=ctx.src,
        simulated=ctx.simulated,
    )
    plot_noise_curves(
        noise,
        outputs["fig_noise"],
        ctx.chance,
        f"{ctx.what}{ctx.unit}: accuracy vs RDM noise ({ctx.shape[0]} "
        f"{ctx.dims[0]}s, {ctx.shape[1]} {ctx.dims[1]}s)",
    )
    grid = ident.grid_search(
        rdms,
        settings.grid_resolution,
        settings.grid_noise_levels,
        zero_edges=p.zero_edges,
        random_state=p.random_state,
    )
    write_tsv(
        grid,
        outputs["grid"],
        f"{ctx.what}identification accuracy ({ctx.unit}) over the (lower, upper) grid "
        f"(resolution {settings.grid_resolution}), one noise draw per level. "
        "Descriptive: the best cell is chosen on the draw it is scored on (optimistic); "
        "the held-out choice is in desc-selection_identification.tsv.",
        {
            **STAT_COLUMNS,
            "noise_level": "noise SD / SD of all RDM entries",
            "accuracy": "leave-one-out identification accuracy",
        },
        sources=ctx.src,
        simulated=ctx.simulated,
    )
    plot_grid(
        grid,
        outputs["fig_grid"],
        f"{ctx.what}{ctx.unit}: accuracy over (l, u) (best cell optimistic)",
        ctx.chance,
    )


def _write_families(result: dict, p, ctx: _Context, outputs) -> None:
    """Family summary, every sampled statistic and the paired tests, at every noise level."""
    from neuroflow.rsa.figures import plot_families

    common = {
        "noise_model": "pooled | scaled | activation (see the claims table sidecar)",
        "noise_level": "noise SD in the model's unit (pooled: SD of all RDM entries; "
        "scaled: each RDM's SD; activation: each layer's activation SD)",
    }
    boot = (
        f"bootstrap ({p.n_boot} draws) over {ctx.dims[0]}s and stimuli, the same draws "
        "for every statistic and level"
    )
    write_tsv(
        result["summary"],
        outputs["families"],
        f"{ctx.what}identification accuracy ({ctx.unit}) per family of (l, u) at every "
        f"noise level: mean over {p.family_samples} random (l, u) per family; {boot}. "
        "The bootstrap accuracies are lower than the full-data ones (a resample has "
        "fewer distinct training subjects).",
        {
            **common,
            "kind": "rdm | rgtm | rgdm",
            "family": STAT_COLUMNS["family"],
            "n_samples": "random (l, u) pairs of the family",
            "accuracy_mean": "mean accuracy over the family's (l, u) pairs (all data)",
            "bootstrap_mean": "mean over bootstrap draws",
            "bootstrap_sd": "SD over bootstrap draws of the family mean",
            "ci_low": "2.5th percentile",
            "ci_high": "97.5th percentile",
        },
        sources=ctx.src,
        simulated=ctx.simulated,
    )
    write_tsv(
        result["samples"],
        outputs["samples"],
        f"{ctx.what}every sampled (l, u) "
        "statistic of the family comparison with its accuracy and bootstrap mean / SD.",
        {
            **common,
            **STAT_COLUMNS,
            "accuracy": "identification accuracy",
            "bootstrap_mean": "mean over bootstrap draws",
            "bootstrap_sd": "SD over bootstrap draws",
        },
        sources=ctx.src,
        simulated=ctx.simulated,
    )
    write_tsv(
        result["tests"],
        outputs["tests"],
        f"{ctx.what}paired bootstrap comparisons of family accuracies per noise model and level; {boot}.",
        {
            **common,
            "kind_a": "statistic kind of family a (rdm | rgtm | rgdm)",
            "family_a": "family a",
            "kind_b": "statistic kind of family b",
            "family_b": "family b",
            "mean_difference": "accuracy of a minus b (mean over draws)",
            "ci_low": "2.5th percentile of the difference",
            "ci_high": "97.5th percentile",
            "p_value": "two-sided bootstrap p-value (2 x smaller tail fraction, >= 1 / n_boot)",
            "se": "bootstrap SD of the difference",
            "n_boot": "bootstrap draws",
        },
        sources=ctx.src,
        simulated=ctx.simulated,
    )
    first = result["summary"]
    first = first[(first["noise_model"] == "pooled") & (first["noise_level"] == first["noise_level"].min())]
    plot_families(
        first,
        outputs["fig_families"],
        ctx.chance,
        f"{ctx.what}{ctx.unit}: families of (l, u), noise {first['noise_level'].min():g} (pooled)",
    )


def _write_claims(result: dict, selection, p, ctx: _Context, outputs) -> None:
    """The claim table (TSV + sidecar with the verdict) and the held-out selection table."""
    from neuroflow.rsa.claims_table import (
        SELECTION_COLUMNS,
        claim_columns,
        claim_summary,
        claim_table,
        protocol_description,
    )
    from neuroflow.rsa.figures import plot_claims

    claims = claim_table(result, selection, p)
    verdict_text = claim_summary(claims, p, result["sd_ratio"])
    write_tsv(
        selection,
        outputs["selection"],
        f"{ctx.what}held-out choice of (lower, upper): for each held-out {ctx.dims[0]}, "
        f"the grid pair (resolution {p.selection_resolution}) that identifies best among "
        f"the other {ctx.dims[0]}s is used to identify it (nested leave-one-out), "
        "pooled noise.",
        SELECTION_COLUMNS,
        sources=ctx.src,
        simulated=ctx.simulated,
    )
    write_tsv(
        claims,
        outputs["claims"],
        f"{ctx.what}claim table ({ctx.unit}): the paper's family comparison "
        f"({p.contrast[0]} minus {p.contrast[1]}) at every noise level of every noise "
        f"model, with the plain RDM as an extra baseline. {verdict_text}",
        claim_columns(p.contrast),
        sources=ctx.src,
        simulated=ctx.simulated,
    )
    sidecar_path = Path(outputs["claims"]).with_suffix(".json")
    sidecar = json.loads(sidecar_path.read_text())
    sidecar.update(
        {
            "Verdict": verdict_text,
            "PooledToWithinSDRatio": result["sd_ratio"],
            "Notes": result["notes"],
            "Protocol": protocol_description(p),
        }
    )
    write_json(sidecar, sidecar_path)
    plot_claims(
        result["summary"],
        claims,
        outputs["fig_claims"],
        ctx.chance,
        p.contrast,
        f"{ctx.what}{ctx.unit}: {p.contrast[0]} vs {p.contrast[1]} families by noise",
    )
