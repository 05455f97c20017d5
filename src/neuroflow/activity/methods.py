"""Methods paragraph of the activity stage (homogenization, atlas, structure-function)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from neuroflow import __version__
from neuroflow.activity.inputs import spike_recordings
from neuroflow.report.references import cite, dataset_reference, used_versions

SIMEON = (
    "Simeon Q, Astrom A, Kashyap A, Kording K, Boyden ES (2024). Homogenized C. elegans "
    "neural activity and connectivity data. arXiv:2411.12091."
)
LEDOIT_WOLF = (
    "Ledoit O, Wolf M (2004). A well-conditioned estimator for large-dimensional "
    "covariance matrices. J Multivar Anal 88:365-411."
)


_dataset_ref = dataset_reference


def methods_text(config: dict, manifest: dict) -> tuple[list[str], list[str]]:
    """Paragraphs (plain text) describing what was done, and the reference list.

    Reads the dataset index and, when present, the structure-function table that the
    stage wrote under ``results_dir``.
    """
    act = config["activity"]
    res = Path(config["results_dir"]) / "group" / "activity"
    versions = used_versions(config, ("numpy", "scipy", "pandas", "xarray", "pynwb", "h5py", "scikit-learn"))
    recs = act["recordings"]
    paras = _homogenization_paragraphs(act, versions) if recs else []
    paras += _spike_paragraphs(config, manifest, versions)
    simulated = sorted(r for r, v in recs.items() if v.get("simulated") is True)
    if simulated:
        paras.append(f"Simulated recording(s), labelled so in every output: {', '.join(simulated)}.")
    index = res / "desc-recordings_index.tsv"
    if index.exists():
        t = pd.read_csv(index, sep="\t")
        paras.append(
            "Per recording: "
            + "; ".join(
                f"{r.recording} ({r.source}): {r.native_rate_hz:.4g} Hz -> {r.rate_hz:.4g} Hz, "
                f"{r.duration_s:.1f} s, {r.n_neurons} neurons ({r.n_labelled} labelled)"
                for r in t.itertuples()
            )
            + "."
        )
    funatlas = act["funatlas"]["activate"]
    if funatlas:
        paras.append(_atlas_paragraph(act))
    paras = [x for x in paras if x]
    stats = res / "desc-structurefunction_stats.tsv"
    if stats.exists():
        st = pd.read_csv(stats, sep="\t")
        sel = st[
            (st["statistic"] == "auroc")
            & (st["predictor"].isin(["synapse", "hops"]))
            & (st["connectome"] == "consensus")
        ]
        if len(sel):
            paras.append(
                "Consensus connectome: "
                + "; ".join(
                    f"{r.strain} {r.predictor} AUROC {r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"
                    for r in sel.itertuples()
                )
                + " (0.5 = chance)."
            )
    refs = _references(act, manifest, funatlas)
    if any("by pybids" in p for p in paras):  # NWB files found in the BIDS dataset
        refs.append(cite("pybids"))
    return paras, refs


def _references(act: dict, manifest: dict, funatlas: bool) -> list[str]:
    recs = act["recordings"]
    refs = ([SIMEON, cite("scipy")] if recs or funatlas else []) + [cite("xarray")]
    if any(r["reader"] == "nwb" for r in recs.values()) or act.get("spikes"):
        refs.append(cite("pynwb"))
    if recs and act["fc"]["kind"] == "partial_correlation":
        refs += [LEDOIT_WOLF, cite("sklearn")]
    used = sorted(
        {r["dataset"] for r in recs.values() if r.get("dataset")}
        | ({act["funatlas"]["dataset"]} if funatlas else set())
        | {r["dataset"] for r in (act.get("spikes") or {}).values() if r.get("dataset")}
    )
    refs += [_dataset_ref(manifest, d) for d in used if d in manifest["datasets"]]
    return refs


def _atlas_paragraph(act: dict) -> str:
    sf = act["structure_function"]
    return (
        "The Randi et al. (2023) signal-propagation atlas (funatlas.h5 of the wormneuroatlas "
        "0.0.7.3 wheel, read with h5py at run time) was mapped to the canonical order "
        f"(strains: {', '.join(act['funatlas']['strains'])}); AWCON/AWCOFF cannot be assigned "
        "to AWCL/AWCR and were left out. For every connectome source and the consensus, over "
        "the tested neuron pairs both of whose neurons the connectome observed, a response was "
        f"significant at q < {sf['alpha']}. We report the AUROC of anatomical predictors "
        "(synapse presence, chemical, electrical, summed weight or consensus support, minus the "
        f"shortest path length, and reachability within 2..{sf['max_hops']} hops) for the "
        "significant responses, and Spearman's rho between anatomical weight and |dF/F|, each "
        f"with a {sf['ci']:.0%} percentile bootstrap interval over {sf['n_bootstrap']} resamples "
        f"of stimulated neurons (seed {sf['random_state']}); consensus edges counted as present "
        f"at support >= {sf['min_support']}."
    )


def _homogenization_paragraphs(act: dict, versions: dict) -> list[str]:
    """Labels, resampling, smoothing and normalization of the trace recordings."""
    sm, nm, lab = act["smoothing"], act["normalization"], act["labels"]
    recs = act["recordings"]
    return [
        f"Activity recordings were homogenized with neuroflow {__version__} (numpy "
        f"{versions['numpy']}, scipy {versions['scipy']}, xarray {versions['xarray']}, pynwb "
        f"{versions['pynwb']}) following Simeon et al. (2024), with the changes stated here. "
        f"{len(recs)} recording(s) were read from their original files (readers: "
        f"{', '.join(sorted({r['reader'] for r in recs.values()}))}). Neuron labels were mapped "
        "to the same canonical list of hermaphrodite neurons as the connectomes (one cell "
        "table and alias table, zero padding stripped); labels containing '?' were "
        + (
            "kept unlabelled"
            if lab["ambiguous"] == "unlabelled"
            else "resolved to the first unused matching canonical label and flagged"
        )
        + "; unlabelled neurons kept anonymous ids and were counted"
        + (
            f", and were given seeded random free slots of the canonical list (seed "
            f"{lab['random_state']}; never interpreted)"
            if lab["slots"] == "random"
            else ""
        )
        + ".",
        f"Every recording was resampled to a common step of {act['step_s']} s "
        f"({1 / act['step_s']:.3g} Hz) with a polyphase anti-aliasing FIR filter "
        f"(scipy.signal.resample_poly, Kaiser window beta = {act['kaiser_beta']}, rational rate "
        "ratio, zero phase), rather than the interpolation and block averaging of Simeon et al.'s "
        "preprocessing code, so "
        "content above the new Nyquist frequency is suppressed instead of aliased. Time stamps "
        f"deviating from a uniform grid by more than {act['jitter_tolerance']} of a native step "
        f"were first interpolated ({act['interpolation']}) onto it. NaN runs and time gaps up to "
        f"{act['max_gap_s']} s were bridged linearly; longer ones were left NaN in the output "
        "(every output sample within one step of them), and neurons whose longest such run "
        f"exceeded {act['max_nan_run_fraction']:.0%} of the recording were dropped and listed. "
        f"Recordings needed at least {act['min_samples']} native samples. The output time axis "
        "is k x step from the first sample, with floor(duration / step) + 1 samples.",
        f"Traces were then smoothed on the common grid ({sm['method']}"
        + (f", {sm['window_s']} s window" if sm["method"] == "moving" else "")
        + (", causal" if sm["causal"] else ", centred")
        + "; Simeon et al.'s code smooths on each native grid, which makes the smoothing duration "
        "differ "
        f"between datasets) and normalized per neuron ({nm['method']}"
        + (f", F0 = {nm['baseline_percentile']}th percentile" if "dff" in nm["method"] else "")
        + "). Outputs are float32 (Simeon et al.'s files store float16). Per recording, functional "
        f"connectivity was the {act['fc']['kind'].replace('_', ' ')} between neurons"
        + (
            " (Ledoit-Wolf shrinkage)"
            if act["fc"]["kind"] == "partial_correlation"
            else " over the samples both neurons have"
        )
        + ".",
    ]


def _spike_paragraphs(config: dict, manifest: dict, versions: dict) -> list[str]:
    """What the counts of the spike recordings are (activity.spikes, activity.bids)."""
    try:
        spikes = spike_recordings(config, manifest)
    except ValueError as exc:  # the workflow already refused this config; say so, do not fail
        return [f"Spike recordings could not be listed: {exc}"]
    if not spikes:
        return []
    widths = sorted({float(s["bin_width"]) for s in spikes.values() if s["reader"] == "nwb"})
    sims = sorted(k for k, s in spikes.items() if s["simulated"])
    text = (
        f"{len(spikes)} spike recording(s) were read once, by the activity stage (pynwb "
        f"{versions['pynwb']} for NWB units tables"
        + (
            f"; {sum(s['source'] == 'bids' for s in spikes.values())} NWB file(s) found in "
            "the BIDS dataset by pybids, every entity of the file name kept in the output "
            "name"
            if any(s["source"] == "bids" for s in spikes.values())
            else ""
        )
        + "). Spike times were counted in bins of "
        + (", ".join(f"{w:g}" for w in widths) or "n/a")
        + " s directly (edges at t_start + k x width, the window defaulting to the span of "
        "the file's epochs; the time coordinate is the bin centre); counts tables were "
        "taken at their own bins, never resampled."
    )
    if sims:
        text += f" SIMULATED (so declared by the user): {', '.join(sims)}."
    return [text]
