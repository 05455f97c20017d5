"""Methods paragraph of the topological-RSA stage (what was done, with the parameters used)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from neuroflow import __version__
from neuroflow.report.references import cite, dataset_reference, used_versions
from neuroflow.rsa.networks import DIGITS_CITATION
from neuroflow.rsa.transforms import statistic_from_config

TRSA_CITATION = (
    "Lin B, Kriegeskorte N (2023). The topology and geometry of neural representations. arXiv:2309.11028."
)
RSATOOLBOX_CITATION = cite("rsatoolbox")
CROSSNOBIS_CITATION = (
    "Walther A, Nili H, Ejaz N, Alink A, Kriegeskorte N, Diedrichsen J (2016). "
    "Reliability of dissimilarity measures for multi-voxel pattern analysis. "
    "NeuroImage 137:188-200."
)
SHRINKAGE_CITATION = (
    "Schäfer J, Strimmer K (2005). A shrinkage approach to large-scale "
    "covariance matrix estimation and implications for functional genomics. "
    "Stat Appl Genet Mol Biol 4:32."
)


_dataset_reference = dataset_reference


def _result_sentence(config: dict) -> str:
    """The claim table's verdict in words, if the table exists (the sidecar holds it)."""
    path = Path(config["results_dir"]) / "group/trsa/desc-claims_identification.json"
    if not path.is_file():
        return ""
    sidecar = json.loads(path.read_text())
    table = pd.read_csv(path.with_suffix(".tsv"), sep="\t")
    primary = table[table["primary"] == "yes"].sort_values("noise_level")
    rows = (
        "; ".join(
            f"noise {r.noise_level:g}: topology {r.topology_accuracy:.2f} "
            f"[{r.topology_ci_low:.2f}, {r.topology_ci_high:.2f}], geometry "
            f"{r.geometry_accuracy:.2f} [{r.geometry_ci_low:.2f}, {r.geometry_ci_high:.2f}], "
            f"difference {r.contrast_boot_mean:+.3f} [{r.contrast_ci_low:+.3f}, "
            f"{r.contrast_ci_high:+.3f}] (power {r.power_at_effect:.2f}), plain RDM "
            f"{r.rdm_accuracy:.2f}, held-out (l, u) {r.selected_accuracy:.2f}, null 95th "
            f"percentile {r.null_p95:.2f}"
            for r in primary.itertuples()
        )
        if "topology_accuracy" in primary
        else ""
    )
    notes = " ".join(sidecar.get("Notes", []))
    return (f"Result (chance {table['chance'].iloc[0]:.2f}): {rows}. {sidecar['Verdict']} {notes}").strip()


_PROTOCOL_DIFFERENCES = (
    "Differences from the paper's protocol that remain: a small ReLU CNN trained on "
    "scikit-learn's 8 x 8 digits stands in for All-CNN-C trained on CIFAR-10 for 350 epochs, "
    "its stimuli are held-out digit images instead of 62 natural images, and it has fewer "
    "layers; the number of instances, stimuli, (l, u) samples and bootstraps are the "
    "configured ones (stated above); the bootstrap holds out all copies of a resampled "
    "instance together (the authors' code lets a copy predict its twin)."
)


def _task_paragraph(config: dict, v: dict) -> str:
    """What the task-fMRI route (trsa.task) did."""
    t = config["trsa"]["task"]
    conf = t["confounds"]
    confounds = (
        "no confound regressors"
        if conf["strategy"] == "none"
        else f"the fMRIPrep confounds of nilearn's load_confounds_strategy "
        f"'{conf['strategy']}'"
        + (
            " (" + "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(conf["options"].items())) + ")"
            if conf["options"]
            else ""
        )
        + " "
        "(its cosine columns left out)"
    )
    conds = ", ".join(t["conditions"]) or "the trial types present in every run"
    return (
        "Task fMRI of the cohort (BIDS events.tsv, preprocessed BOLD, brain masks and "
        f"confounds of the derivatives folder(s), found with pybids): each run was fitted with "
        f"a nilearn {v['nilearn']} FirstLevelModel ({t['noise_model']} noise model, percent "
        f"signal change, one regressor per trial type convolved with the {t['hrf_model']} "
        f"HRF, cosine drift regressors below {t['high_pass']:g} Hz, {confounds}). The betas of "
        f"{conds} in the voxels of every atlas region ({Path(t['atlas']['image']).name}) "
        "were compared with rsatoolbox's crossvalidated Mahalanobis distance (crossnobis; "
        "runs as folds), noise-normalised by the region's residual covariance over all runs "
        f"({t['noise_method']}); regions with fewer than {t['min_voxels']} voxels got no RDM. "
        "The subjects' region RDMs were then identified across subjects as below."
    )


def _identification_paragraph(cfg: dict, ident: dict) -> str:
    """What the identification analyses and the claim test did, with their parameters."""
    levels = ", ".join(f"{x:g}" for x in ident["noise_levels"])
    models = {
        "pooled": "SD in units of the SD of all RDM entries pooled (the authors' model, primary)",
        "scaled": "SD relative to each RDM's own SD",
        "activation": "noise added to the network activations before the RDMs, SD "
        "relative to each layer's activation SD (levels "
        f"{', '.join(f'{x:g}' for x in ident['activation_noise_levels'])})",
    }
    return (
        "Identification: each region's (layer's) RDM was identified across subjects "
        "(instances) by leave-one-out nearest-centroid classification (Euclidean), as in the "
        f"paper. As in the authors' driver, Gaussian noise of level {levels} was added to the "
        "RDM entries (negatives set to 0) and, at every level, the topology-sensitive family "
        f"of (l, u) was compared with the geometry-sensitive one ({ident['family_samples']} "
        "random (l, u) per family, a family's accuracy the mean over its pairs; "
        f"{ident['n_boot']} bootstrap draws resampling instances and stimuli with replacement, "
        "pairs of a duplicated stimulus dropped, copies of one instance held out together; "
        f"the same pairs and draws at every level). Noise models: "
        f"{'; '.join(models[m] for m in ident['noise_models'])}. Per level the claim table "
        "gives each family's accuracy with its 95 % bootstrap interval, the paired "
        "difference with its interval and p-value, the difference detectable with 80 % power "
        f"and the power for a difference of {ident['effect_of_interest']:g} (also the "
        "non-inferiority margin of the verdict), chance and a label-permutation null "
        f"({ident['n_null']} permutations within instances), and the plain RDM as an extra "
        "baseline (not the paper's reference). A held-out choice of (l, u) (nested "
        "leave-one-instance-out on the grid of resolution "
        f"{ident['grid_resolution']:g}, {ident['n_repeats']} noise draws per level) replaces "
        "the best grid cell chosen on the scored draw, which the heat maps show only "
        f"descriptively. All random draws used seed {cfg['random_state']}. " + _PROTOCOL_DIFFERENCES
    )


def _haxby_paragraph(hx: dict, v: dict) -> str:
    """What the Haxby route did."""
    return (
        f"Real fMRI: the run-wise GLM of Haxby et al. (2001) subject {hx['subject']} (PyMVPA "
        "tutorial data: 1452 volumes in 12 runs, TR 2.5 s, 530 voxels of one posterior axial "
        f"slice, 8 object categories) used nilearn {v['nilearn']} design matrices (block "
        f"boxcars convolved with the {hx['hrf_model']} HRF, cosine drift regressors below "
        f"{hx['high_pass']:g} Hz) on percent signal change; the condition betas of each run "
        "were compared with rsatoolbox's crossvalidated Mahalanobis distance (crossnobis, "
        "leave-one-run-out), noise-normalised with the residual covariance "
        f"({hx['noise_method']}). Category model RDMs ({', '.join(hx['models'])}) were "
        f"evaluated against the data under every statistic (data and models transformed "
        f"alike) with rsatoolbox's '{hx['comparison']}' comparison and {hx['n_boot']} bootstrap "
        "samples of conditions (eval_bootstrap_pattern; one-sided t-tests against zero, "
        "paired t-tests between models, uncorrected)."
        + (
            " The same subject also took the task-fMRI route of user cohorts: its files "
            "were written as a BIDS dataset with fMRIPrep-style derivatives (one BOLD "
            "image and events.tsv per run, the mask as the one region), found with "
            "pybids, fitted run by run with nilearn's FirstLevelModel (ordinary least "
            "squares, no confounds) and turned into a crossnobis RDM by the same rules "
            "(space-native outputs)."
            if hx.get("bids")
            else ""
        )
    )


def _references(cfg: dict, task: dict) -> list:
    """The papers and libraries of the routes this config ran."""
    hx, hd, net = cfg["haxby"], cfg["headdirection"], cfg["networks"]
    fmri = hx.get("activate") or task.get("activate")
    refs = [TRSA_CITATION, RSATOOLBOX_CITATION, cite("scipy"), cite("sklearn")]
    if fmri:
        refs += [CROSSNOBIS_CITATION, SHRINKAGE_CITATION, cite("nilearn")]
    if task.get("activate") or (hx.get("activate") and hx.get("bids")):
        refs.append(cite("pybids"))
    if net.get("activate"):
        refs += [cite("torch"), DIGITS_CITATION]
    if hd.get("activate"):
        refs.append(cite("pynwb"))
    return refs


def methods_text(config: dict, manifest: dict) -> tuple[list[str], list[str]]:
    """Paragraphs (plain text) describing what was done, and the reference list."""
    cfg = config["trsa"]
    v = used_versions(config, ("rsatoolbox", "scipy", "scikit-learn", "nilearn", "torch", "pynwb", "numpy"))
    stats = [statistic_from_config(s) for s in cfg["statistics"]]
    hx, hd, net, ident = (cfg["haxby"], cfg["headdirection"], cfg["networks"], cfg["identification"])
    task = cfg["task"]
    zero = (
        "pairs below the lower quantile were not edges of the graph, as in rsatoolbox and "
        "the authors' code, where networkx drops zero weights"
        if cfg["zero_edges"] == "drop"
        else "pairs below the lower quantile were edges of length zero"
    )
    paras = [
        f"Topological representational similarity analysis followed Lin & Kriegeskorte (2023), "
        f"with neuroflow {__version__}, rsatoolbox {v['rsatoolbox']}, scipy {v['scipy']} and "
        f"scikit-learn {v['scikit-learn']}. Each RDM was summarised by {len(stats)} statistics "
        f"({', '.join(s.label for s in stats)}). The geo-topological transform (RGTM) ranks each "
        "RDM's dissimilarities, scales them to [0, 1], sets values below the lower quantile l to "
        "0 and above the upper quantile u to 1 and rescales those in between linearly, with "
        "per-RDM quantiles as in the authors' definition (rsatoolbox's geotopological_transform "
        "pools the quantiles over RDMs and, in version 0.3.2, also sets ramp values above the "
        "upper quantile's value to 1; our implementation equals it where that does not "
        "happen, which the tests check). The geodesic statistic (RGDM) takes the RGTM as a "
        "weighted graph, removes the "
        f"pairs at 1, computes all-pairs shortest paths (scipy csgraph; {zero}), and ranks "
        "the path lengths (disconnected pairs share the top rank), scaled to [0, 1]. (l, u) "
        "pairs were grouped into the paper's families: local extractor (mean <= 0.2), global "
        "extractor (mean >= 0.8), geometry-sensitive (u - l >= 0.8), topology-sensitive "
        "(l >= 0.4, u <= 0.6) and intermediate.",
    ]
    if hx.get("activate"):
        paras.append(_haxby_paragraph(hx, v))
    if hd.get("activate"):
        paras.append(
            f"Real head-direction data: spike times of the '{hd['location']}' units and the head "
            f"angle in the '{hd['epoch']}' epoch of recording {hd.get('recording')} (an NWB file "
            f"read once by the activity stage with pynwb {v['pynwb']} into its units file) gave "
            "firing "
            f"rates in {hd['n_bins']} equal angle bins; the RDM between bins "
            f"({hd['rdm_method']} distance of the population vectors) was compared with a ring "
            "model (circular distance) and a line model (linear distance), as above "
            f"({hd['comparison']}, {hd['n_boot']} bootstrap samples of bins)."
        )
    if net.get("activate"):
        paras.append(
            f"Simulation (simulated data): {net['n_instances']} instances of one convolutional "
            f"network (3 x 3 convolutions with {net['conv_channels']} channels and 2 x 2 "
            f"max-pooling after every second, fully connected layers of {net['fc_units']} units, "
            f"ReLU; PyTorch {v['torch']}, one CPU thread) were trained from seeds "
            f"{cfg['random_state']} to {cfg['random_state'] + net['n_instances'] - 1} on "
            f"scikit-learn's 8 x 8 handwritten digits ({net['epochs']} epochs, Adam, learning rate "
            f"{net['learning_rate']:g}, batch {net['batch_size']}), holding out "
            f"{net['stimuli_per_class']} images per digit as stimuli. Each layer's RDM "
            f"({net['rdm_method']} distance, rsatoolbox) on the stimuli was identified across "
            "instances by leave-one-instance-out nearest-centroid classification (Euclidean), as "
            "in the paper."
        )
    if task.get("activate"):
        paras.append(_task_paragraph(config, v))
    paras.append(_identification_paragraph(cfg, ident) + " " + _result_sentence(config))
    refs = _references(cfg, task)
    spikes = (config.get("activity") or {}).get("spikes") or {}
    for section, ds_id in (
        (hx, hx.get("dataset")),
        (hd, (spikes.get(str(hd.get("recording"))) or {}).get("dataset")),
    ):
        if section.get("activate") and ds_id in manifest.get("datasets", {}):
            refs.append(_dataset_reference(manifest, ds_id))
    if ident.get("rdms"):
        paras.append(
            f"The identification analyses read the RDM stack {ident['rdms']} instead "
            "of the simulated networks."
        )
    return paras, refs
