"""Methods paragraph of the EEG stage, written from the configuration actually used."""

from __future__ import annotations

from neuroflow import __version__
from neuroflow.report.references import cite, dataset_reference, used_versions

REFERENCES = {
    "mne": cite("mne"),
    "mne_bids": cite("mne_bids"),
    "specparam": cite("specparam"),
    "mne_connectivity": cite("mne_connectivity"),
    "prep": "Bigdely-Shamlo N, Mullen T, Kothe C, Su KM, Robbins KA (2015). The PREP pipeline: "
    "standardized preprocessing for large-scale EEG analysis. Front Neuroinform 9:16.",
    "infomax": "Bell AJ, Sejnowski TJ (1995). An information-maximization approach to blind "
    "separation and blind deconvolution. Neural Comput 7:1129-1159; Lee TW, Girolami M, "
    "Sejnowski TJ (1999). Independent component analysis using an extended infomax "
    "algorithm for mixed subgaussian and supergaussian sources. Neural Comput 11:417-441.",
    "fastica": "Hyvarinen A, Oja E (2000). Independent component analysis: algorithms and "
    "applications. Neural Netw 13:411-430.",
    "picard": "Ablin P, Cardoso JF, Gramfort A (2018). Faster independent component analysis by "
    "preconditioning with Hessian approximations. IEEE Trans Signal Process 66:4040-4049.",
    "iclabel": "Pion-Tonachini L, Kreutz-Delgado K, Makeig S (2019). ICLabel: An automated "
    "electroencephalographic independent component classifier, dataset, and website. "
    "NeuroImage 198:181-197; Li A, Feitelberg J, Saini AP, Hochenberger R, Scheltienne M "
    "(2022). MNE-ICALabel: Automatically annotating ICA components with ICLabel in "
    "Python. J Open Source Softw 7:4484.",
    "splines": "Perrin F, Pernier J, Bertrand O, Echallier JF (1989). Spherical splines for scalp "
    "potential and current density mapping. Electroencephalogr Clin Neurophysiol "
    "72:184-187.",
    "rest": "Yao D (2001). A method to standardize a reference of scalp EEG recordings to a point "
    "at infinity. Physiol Meas 22:693-711.",
    "welch": "Welch P (1967). The use of fast Fourier transform for the estimation of power "
    "spectra. IEEE Trans Audio Electroacoust 15:70-73.",
    "multitaper": "Thomson DJ (1982). Spectrum estimation and harmonic analysis. Proc IEEE 70:1055-1096.",
    "wpli": "Vinck M, Oostenveld R, van Wingerden M, Battaglia F, Pennartz CMA (2011). An "
    "improved index of phase-synchronization for electrophysiological data in the "
    "presence of volume-conduction, noise and sample-size bias. NeuroImage 55:1548-1565.",
    "plv": "Lachaux JP, Rodriguez E, Martinerie J, Varela FJ (1999). Measuring phase synchrony in "
    "brain signals. Hum Brain Mapp 8:194-208.",
    "blinks": "Bentivoglio AR, Bressman SB, Cassetta E, et al. (1997). Analysis of blink rate "
    "patterns in normal subjects. Mov Disord 12:1028-1034.",
    "pipeline": "Jas M, Larson E, Engemann DA, et al. (2018). A reproducible MEG/EEG group study "
    "with the MNE software: recommendations, quality assessments, and good practices. "
    "Front Neurosci 12:530.",
}


def _and(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1] if items else ""


def _fmt_range(x) -> str:
    return f"{x[0]:g}-{x[1]:g}"


def methods_text(config: dict, manifest: dict) -> tuple[list[str], list[str]]:
    """Paragraphs describing what the EEG stage did, and its references."""
    from neuroflow.eeg.features import with_defaults as feat_defaults
    from neuroflow.eeg.inputs import eeg_recordings
    from neuroflow.eeg.preprocess import with_defaults as prep_defaults

    eeg = config["eeg"]
    v = used_versions(config, ("mne", "mne-bids", "mne-connectivity", "specparam", "mne-icalabel"))
    recordings = eeg_recordings(config)
    subjects = {r["sub"]: r["kind"] for r in recordings.values()}
    kinds = {
        k: sum(kind == k for kind in subjects.values()) for k in ("embedded", "simulated", "file", "bids")
    }
    n_bids = sum(r["kind"] == "bids" for r in recordings.values())
    p, f = prep_defaults(eeg.get("preprocessing")), feat_defaults(eeg.get("features"))
    refs = [REFERENCES["mne"], REFERENCES["pipeline"]]
    libs = [f"MNE-Python {v['mne']}"] + [
        f"{name} {v[name]}"
        for name, used in (
            ("mne-bids", kinds["bids"]),
            ("mne-connectivity", f["connectivity"]["activate"]),
            ("specparam", f["specparam"]["activate"]),
        )
        if used
    ]
    paras = [
        f"EEG was processed with neuroflow {__version__} using {_and(libs)}, following the "
        "MNE-BIDS-Pipeline order of steps, one recording at a time. The cohort held "
        f"{len(subjects)} subjects ({len(recordings)} recordings): "
        + _and(
            [
                text
                for n, text in (
                    (kinds["embedded"], f"{kinds['embedded']} real embedded recording(s)"),
                    (kinds["simulated"], f"{kinds['simulated']} SIMULATED subject(s)"),
                    (kinds["file"], f"{kinds['file']} user file(s)"),
                    (
                        kinds["bids"],
                        f"{kinds['bids']} subject(s) with {n_bids} recording(s) from a "
                        "BIDS dataset (queried with pybids, read with mne-bids; every "
                        "session and run processed separately)",
                    ),
                )
                if n
            ]
        )
        + ". Each recording's "
        "BIDS sidecar sampling rate was checked against the data and every EEG channel had to "
        "be known to the montage.",
    ]
    if kinds["bids"]:
        refs += [REFERENCES["mne_bids"], cite("pybids")]
    if kinds["embedded"]:
        paras.append(_embedded_paragraph(eeg["embedded"], manifest))
        refs.append(dataset_reference(manifest, eeg["embedded"]["dataset"]))
    if kinds["simulated"]:
        paras.append(_simulated_paragraph(eeg["simulate"], kinds["simulated"]))
        refs.append(REFERENCES["blinks"])
    paras.append(_filtering_paragraph(p, refs))
    if p["ica"]["activate"]:
        paras.append(_ica_paragraph(p["ica"], v, refs))
    paras.append(_epochs_paragraph(p))
    paras.append(_features_paragraph(f, refs))
    return paras, list(dict.fromkeys(refs))


def _embedded_paragraph(emb: dict, manifest: dict) -> str:
    entry = manifest["datasets"][emb["dataset"]]
    dist = manifest["distributions"][entry["distribution"]]
    return (
        f"The real recording (sub-{emb['subject']}) is 16 s of 14-channel Emotiv EEG at 128 Hz "
        f"from the PhyAAt dataset as shipped in {entry['distribution']} {dist['version']}; its "
        "pickle was read once, after sha256 verification, with an unpickler restricted to "
        "numpy arrays, and converted to FIF (microvolts to volts); positions from the "
        f"{emb['montage']} template."
    )


def _simulated_paragraph(s: dict, n_simulated: int) -> str:
    return (
        f"SIMULATED subjects ({n_simulated}, {s['duration']:g} s at {s['sfreq']:g} Hz, 32 "
        f"channels, seed {s['seed']}) were generated from dipoles on a {s['grid_spacing']:g}-mm "
        "volume grid inside an MNE four-shell sphere head model (make_sphere_model, "
        "make_forward_solution). Each dipole carried independent 1/f^x noise with the "
        f"subject's exponent x (drawn from {_fmt_range(s['exponent_range'])}); dipoles behind "
        "the sphere centre added a Gaussian-spectrum alpha rhythm at the subject's peak "
        f"frequency (drawn from {_fmt_range(s['alpha_range'])} Hz). Blinks from MNE's eye-dipole "
        "model (mne.simulation.add_eog; 4.5-17 blinks per minute) were scaled to "
        f"{s['blink_amplitude']:g} uV peak; one central channel was made dead (0.05 uV "
        f"noise); {s['line_freq']:g} Hz line noise and 0.3 uV white sensor noise were added."
    )


def _filtering_paragraph(p: dict, refs: list[str]) -> str:
    """Filters, resampling, bad channels and reference, in order; appends their references."""
    steps = []
    if p["filter"]["activate"]:
        steps.append(
            f"band-pass filtered ({p['filter']['l_freq']}-{p['filter']['h_freq']} Hz, "
            f"{p['filter']['method'].upper()}, {p['filter']['phase']} phase, MNE defaults "
            "for transition bands)"
        )
    if p["notch"]["activate"]:
        steps.append(f"notch filtered at {', '.join(f'{x:g}' for x in p['notch']['freqs'])} Hz")
    if p["resample"]["activate"]:
        steps.append(f"resampled to {p['resample']['sfreq']:g} Hz")
    b = p["bad_channels"]
    if b["activate"]:
        crit = {
            "flat": f"a robust amplitude (IQR/1.349) below {b['flat_threshold']:g} uV",
            "deviation": f"an absolute robust z-score of that amplitude above {b['deviation_z']:g} "
            "(PREP's deviation criterion)",
            "lof": f"a local outlier factor above {b['lof_threshold']:g}",
        }
        steps.append(
            "bad channels were flagged by "
            + " or ".join(crit[m] for m in b["methods"])
            + (" and replaced by spherical-spline interpolation" if b["interpolate"] else "")
        )
        refs.append(REFERENCES["prep"])
        if b["interpolate"]:
            refs.append(REFERENCES["splines"])
    r = p["reference"]
    if r["activate"] and r["kind"] != "none":
        steps.append(
            {
                "average": "re-referenced to the average",
                "rest": "re-referenced to infinity with REST (sphere head model)",
                "channels": f"re-referenced to the mean of {', '.join(r['channels'])}",
            }[r["kind"]]
        )
        if r["kind"] == "rest":
            refs.append(REFERENCES["rest"])
    return "Data were " + "; ".join(steps) + "." if steps else "No filtering was applied."


def _ica_paragraph(c: dict, v: dict, refs: list[str]) -> str:
    algo = "extended infomax" if c["method"] == "infomax" and c["extended"] else c["method"]
    lab = []
    if "eog" in c["labeling"]:
        lab.append(
            f"components whose time course correlated (|{c['eog_measure']}| > "
            f"{c['eog_threshold']:g}, 1-10 Hz) with an EOG channel or, where none was "
            f"recorded, with the frontal proxies {', '.join(c['eog_proxies'])} (at most "
            f"{c['eog_max_components']}) were removed"
        )
    if "ecg" in c["labeling"]:
        lab.append("components correlated with an ECG channel (when present) were removed")
    if "iclabel" in c["labeling"]:
        lab.append(
            f"components that ICLabel (mne-icalabel {v['mne-icalabel']}) classified as "
            f"{', '.join(c['iclabel_exclude'])} with probability >= "
            f"{c['iclabel_threshold']:g} were removed"
        )
        refs.append(REFERENCES["iclabel"])
    text = (
        f"ICA ({algo}, up to {c['n_components']} components capped at the data "
        f"rank, seed {c['random_state']}) was fitted on the filtered EEG; " + "; ".join(lab) + "."
    )
    refs.append(
        REFERENCES[
            "picard" if c["method"] == "picard" else "fastica" if c["method"] == "fastica" else "infomax"
        ]
    )
    return text


def _epochs_paragraph(p: dict) -> str:
    e, rj = p["epochs"], p["reject"]
    ep = (
        f"{e['length']:g}-s fixed-length epochs (overlap {e['overlap']:g} s)"
        if e["kind"] == "fixed"
        else f"epochs from {e['tmin']:g} to {e['tmax']:g} s around annotated events"
    )
    rej = (
        f"; epochs with any EEG peak-to-peak amplitude above {rj['peak_to_peak']} uV or below "
        f"{rj['flat']} uV were dropped"
        if rj["activate"]
        else ""
    )
    return f"Cleaned data were cut into {ep}{rej}."


def _features_paragraph(f: dict, refs: list[str]) -> str:
    """Spectra, band power, specparam and connectivity; appends their references."""
    sp, con = f["specparam"], f["connectivity"]
    feat = (
        f"Power spectra ({f['fmin']:g}-{f['fmax']:g} Hz) were estimated per channel with Welch's "
        f"method ({f['welch_window']:g}-s Hamming segments, {f['welch_overlap']:.0%} overlap) and "
        f"with DPSS multitapers ({f['multitaper_bandwidth']:g} Hz bandwidth), averaged over "
        "epochs. Band power integrates the Welch PSD over "
        + ", ".join(f"{k} {_fmt_range(x)} Hz" for k, x in f["bands"].items())
        + " (absolute and relative to the total)."
    )
    refs += [REFERENCES["welch"], REFERENCES["multitaper"]]
    if sp["activate"]:
        feat += (
            f" specparam ({sp['aperiodic_mode']} aperiodic mode, {_fmt_range(sp['freq_range'])} Hz "
            f"on the {sp['psd']} PSD, peak widths {_fmt_range(sp['peak_width_limits'])} Hz, at most "
            f"{sp['max_n_peaks']} peaks, minimum height {sp['min_peak_height']:g}) gave each "
            "channel's aperiodic offset and exponent and its peaks; the alpha peak is the "
            f"strongest peak in {_fmt_range(sp['alpha_range'])} Hz, and subject values are "
            "medians over channels."
        )
        refs.append(REFERENCES["specparam"])
    if con["activate"]:
        feat += (
            f" Sensor connectivity ({', '.join(con['methods'])}; {con['mode']}) was averaged "
            f"within the {', '.join(con['bands'])} bands with mne-connectivity."
        )
        refs.append(REFERENCES["mne_connectivity"])
        if {"wpli", "wpli2_debiased"} & set(con["methods"]):
            refs.append(REFERENCES["wpli"])
        if "plv" in con["methods"]:
            refs.append(REFERENCES["plv"])
    return feat
