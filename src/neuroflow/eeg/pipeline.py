"""File-level entry points of the EEG rules (one function per rule).

Each reads its inputs, calls the pure functions of :mod:`neuroflow.eeg`, and writes its
outputs atomically (a failing subject leaves nothing behind). Simulated subjects say so in
every output: FIF ``info["description"]``, NetCDF attrs, TSV sidecars, figure titles.
"""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pandas as pd

from neuroflow.config import filled_entry
from neuroflow.eeg import columns as C
from neuroflow.eeg import features as F
from neuroflow.eeg import group as G
from neuroflow.eeg import io
from neuroflow.eeg import outputs as O
from neuroflow.eeg.figures import plot_group_aperiodic, plot_group_bandpower, plot_group_psd
from neuroflow.eeg.io import CHANNELS_TSV_COLUMNS, EEGInputError, bids_channels_table
from neuroflow.eeg.outputs import EEG_PACKAGES, REAL_NOTE, save_fif
from neuroflow.eeg.preprocess import preprocess, with_defaults
from neuroflow.eeg.report import REPORT_FILES, recording_report
from neuroflow.eeg.simulate import draw_truth, simulate_subject
from neuroflow.output_schema import stamp
from neuroflow.provenance import write_json, write_netcdf, write_tsv
from neuroflow.rulelog import redirect_to_log

# -- sources: the embedded recording and the simulator -----------------------------------


def convert_embedded(
    pickle_path,
    out_raw,
    out_reference,
    out_sidecar,
    *,
    subject: str,
    task: str,
    montage: str,
    dataset_id: str,
    citation: str,
) -> None:
    """Convert spkit's checksum-verified ``EEG16sec_artifact.pkl`` to FIF, once.

    Writes the raw signal (``X_raw``) as the subject's recording, the spkit authors' own
    ICA-cleaned signal (``X_ica``) as a reference, and a BIDS-style ``_eeg.json`` sidecar.
    """
    data = io.load_spkit_pickle(pickle_path)
    desc = (
        f"{REAL_NOTE}: {dataset_id}, spkit 0.0.9.7 data/files/EEG16sec_artifact.pkl "
        "key X_raw (PhyAAt dataset, Emotiv 14-channel headset)"
    )
    raw = io.spkit_to_raw(data, "X_raw", desc)
    io.apply_montage(raw, montage, pickle_path)
    ref = io.spkit_to_raw(
        data, "X_ica", desc.replace("X_raw", "X_ica (cleaned with ICA by the spkit authors)")
    )
    io.apply_montage(ref, montage, pickle_path)
    save_fif(raw, out_raw)
    save_fif(ref, out_reference)
    write_json(
        {
            "TaskName": task,
            "SamplingFrequency": float(data["fs"]),
            "EEGChannelCount": len(data["ch_names"]),
            "RecordingDuration": raw.times[-1] + 1 / raw.info["sfreq"],
            "RecordingType": "continuous",
            "Manufacturer": "Emotiv",
            "EEGReference": "n/a",
            "PowerLineFrequency": "n/a",
            "SoftwareFilters": "n/a",
            "Simulated": False,
            "Dataset": dataset_id,
            "Citation": citation,
            "Sources": O.file_inputs([pickle_path]),
            "SpkitDescription": str(data.get("info", "")),
            "SpkitKeys": sorted(str(k) for k in data),
            "Montage": montage,
            "Units": "V",
            "UnitsNote": "spkit stores microvolts; multiplied by 1e-6",
        },
        out_sidecar,
    )


def simulate_to_files(
    index: int,
    out_raw,
    out_blink,
    out_sidecar,
    out_truth,
    *,
    task: str,
    seed: int,
    exponent_range,
    alpha_range,
    sfreq: float,
    duration: float,
    montage: str,
    alpha_ratio: float,
    blink_amplitude: float,
    line_freq: float,
    grid_spacing: float,
) -> dict:
    """Simulate subject `index` and write its recording, blink-only signal and truth."""
    truth = draw_truth(index, seed, exponent_range, alpha_range)
    raw, blink, truth = simulate_subject(
        truth,
        sfreq=sfreq,
        duration=duration,
        montage=montage,
        alpha_ratio=alpha_ratio,
        blink_amplitude=blink_amplitude,
        line_freq=line_freq,
        grid_spacing=grid_spacing,
        random_state=[int(seed), int(index)],
    )
    save_fif(raw, out_raw)
    save_fif(blink, out_blink)
    write_json(
        {
            "TaskName": task,
            "SamplingFrequency": float(sfreq),
            "EEGChannelCount": len(raw.ch_names),
            "RecordingDuration": float(duration),
            "RecordingType": "continuous",
            "EEGReference": "simulated (infinity)",
            "PowerLineFrequency": float(line_freq),
            "Simulated": True,
            "Description": raw.info["description"],
        },
        out_sidecar,
    )
    write_json(stamp(truth, simulated=True, packages=EEG_PACKAGES), out_truth)
    return truth


# -- preprocessing ----------------------------------------------------------------------


def read_recording(spec: dict, files, *, montage: str, on_missing: str):
    """Read one recording as its spec (:func:`neuroflow.eeg.inputs.eeg_recordings`) says;
    return (raw, recording path).

    BIDS recordings are read with mne-bids (``_channels.tsv``, ``_electrodes.tsv``,
    ``_eeg.json``). Other files: applies channel renames and types, checks the sidecar's
    sampling rate, and sets the montage (``file`` for the FIF files the stage writes itself).
    """
    kind = spec["kind"]
    if kind == "bids":
        raw, path = io.read_bids_recording(spec["root"], spec["path"])
        io.apply_montage(raw, spec.get("montage") or montage, path, on_missing)
        return raw, path
    path = Path(files[0])
    spec = filled_entry(spec, "eeg", "subjects")  # format: as the workflow fills it
    raw = io.read_recording(path, spec["format"])
    if spec.get("rename"):
        unknown = sorted(set(spec["rename"]) - set(raw.ch_names))
        if unknown:
            raise EEGInputError(f"{path}: channels to rename not in the recording: {unknown}")
        raw.rename_channels(dict(spec["rename"]))
    if spec.get("channel_types"):
        unknown = sorted(set(spec["channel_types"]) - set(raw.ch_names))
        if unknown:
            raise EEGInputError(f"{path}: channel_types names unknown channels: {unknown}")
        raw.set_channel_types(dict(spec["channel_types"]), on_unit_change="ignore", verbose="error")
    side = Path(spec["sidecar"]) if spec.get("sidecar") else io.sidecar_of(path)
    if side is not None:
        io.check_sidecar(raw, side, path)
    own = kind in ("embedded", "simulated")
    io.apply_montage(
        raw, "file" if own else (spec.get("montage") or montage), path, "raise" if own else on_missing
    )
    return raw, path


def preprocess_recording(spec: dict, files, *, montage: str, on_missing: str, cfg: dict, out: dict) -> dict:
    """Read, preprocess and write one recording (sub x ses x task x acq x run).

    `out` maps ``clean``, ``filtered``, ``epochs``, ``channels``, ``components``,
    ``epochs_log``, ``summary`` (and ``ica`` when ICA is on) to output paths.
    """
    subject, task, label = spec["sub"], spec["entities"].get("task", ""), spec["stem"]
    raw, recording = read_recording(spec, files, montage=montage, on_missing=on_missing)
    sfreq_in = float(raw.info["sfreq"])
    res = preprocess(raw, cfg, str(recording), copy=False)  # raw is not used again
    simulated = bool(spec.get("simulated"))
    note = O.note(simulated)
    for key in ("raw", "filtered"):
        res[key].info["description"] = f"{note} | neuroflow eeg: {key} {label}"
    res["epochs"].info["description"] = f"{note} | neuroflow eeg: cleaned epochs {label}"
    save_fif(res["filtered"], out["filtered"])
    save_fif(res["raw"], out["clean"])
    save_fif(res["epochs"], out["epochs"])
    if res["ica"] is not None and out.get("ica"):
        save_fif(res["ica"], out["ica"])
    srcs = [str(recording)]
    ch = bids_channels_table(res["channels"], res["raw"].info)
    write_tsv(
        ch,
        out["channels"],
        f"EEG channels of {label} ({note}): detected bad "
        "channels (flat, deviation, lof) and whether they were interpolated",
        CHANNELS_TSV_COLUMNS,
        srcs,
        simulated=simulated,
    )
    write_tsv(
        res["components"],
        out["components"],
        f"ICA components of {label} ({note}) with artifact scores; empty when ICA is off",
        C.COMPONENT_COLUMNS,
        srcs,
        simulated=simulated,
    )
    write_tsv(
        res["epochs_log"],
        out["epochs_log"],
        f"Epoch rejection log of {label} ({note})",
        C.EPOCHS_LOG_COLUMNS,
        srcs,
        simulated=simulated,
    )
    summary = {
        "subject": subject,
        "recording_id": label,
        "entities": spec["entities"],
        "task": task,
        "kind": spec["kind"],
        "description": note,
        "recording": str(recording),
        "inputs": O.file_inputs(files),
        "sfreq_in": sfreq_in,
        "sfreq_out": float(res["raw"].info["sfreq"]),
        "n_channels": int(len(res["channels"])),
        "bad_channels": res["channels"].loc[res["channels"]["bad"], "name"].tolist(),
        "ica_excluded": [] if res["ica"] is None else [f"ICA{i:03d}" for i in res["ica"].exclude],
        "n_ica_components": 0 if res["ica"] is None else int(res["ica"].n_components_),
        "n_epochs": int(len(res["epochs_log"])),
        "n_epochs_kept": int(len(res["epochs"])),
        "steps": res["steps"],
        "parameters": with_defaults(cfg),
    }
    write_json(
        stamp(summary, simulated=simulated, sources=[recording], packages=EEG_PACKAGES), out["summary"]
    )
    return summary


# -- features ---------------------------------------------------------------------------


def _spectra(epochs, cfg: dict) -> O.Spectra:
    """Welch and multitaper PSDs of the epochs and the band power from the Welch PSD."""
    kw = {k: cfg[k] for k in ("fmin", "fmax", "welch_window", "welch_overlap", "multitaper_bandwidth")}
    fw, pw = F.compute_psd(epochs, "welch", **kw)
    fm, pm = F.compute_psd(epochs, "multitaper", **kw)
    bands = {k: list(v) for k, v in cfg["bands"].items()}
    absolute, relative = F.band_power(fw, pw, bands)
    return O.Spectra(fw, pw, fm, pm, bands, absolute, relative)


def _specparam(spectra: O.Spectra, names, sp: dict):
    """specparam fits per channel (``sp``: the ``eeg.features.specparam`` section): the
    aperiodic table and the peaks."""
    s = spectra
    freqs, psd = (s.welch_freqs, s.welch) if sp["psd"] == "welch" else (s.multitaper_freqs, s.multitaper)
    return F.fit_aperiodic(
        freqs,
        psd,
        names,
        sp["freq_range"],
        sp["aperiodic_mode"],
        sp["peak_width_limits"],
        sp["max_n_peaks"],
        sp["min_peak_height"],
        sp["peak_threshold"],
        sp["alpha_range"],
    )


def features_recording(
    epochs_path,
    *,
    recording: str,
    simulated: bool,
    cfg: dict,
    out_nc,
    out_bandpower,
    out_aperiodic,
    out_peaks,
) -> None:
    """PSD (Welch, multitaper), band power and specparam fits of one recording's epochs.

    ``recording`` is its BIDS stem (``sub-01_ses-2_task-rest_run-2``), used in titles.
    """
    cfg = F.with_defaults(cfg)
    epochs = mne.read_epochs(epochs_path, preload=True, verbose="error").pick("eeg")
    names = epochs.ch_names
    spectra = _spectra(epochs, cfg)
    pos = np.array([epochs.info["chs"][i]["loc"][:3] for i in range(len(names))])
    attrs = {
        **O.provenance_attrs(epochs_path, cfg, recording, simulated),
        "sampling_rate_Hz": float(epochs.info["sfreq"]),
        "n_epochs": len(epochs),
        "epoch_length_s": float(epochs.times[-1] - epochs.times[0] + 1 / epochs.info["sfreq"]),
        "title": f"EEG spectral features, {recording} ({O.note(simulated)})",
    }
    ds = O.spectra_dataset(spectra, names, pos, cfg, attrs)
    table, peaks = pd.DataFrame({"channel": names}), pd.DataFrame(columns=["channel", "cf", "pw", "bw"])
    if cfg["specparam"]["activate"]:
        table, peaks = _specparam(spectra, names, cfg["specparam"])
        O.add_aperiodic(ds, table, F.summarize_aperiodic(table))
    write_netcdf(
        ds,
        out_nc,
        simulated=simulated,
        sources=[epochs_path],
        packages=EEG_PACKAGES,
        variables=C.variables_of(ds),
    )
    # written here, not in a helper: each sidecar's History names the function that wrote it
    bandpower_columns = {
        **C.BANDPOWER_COLUMNS,
        "relative_power": {
            "Description": f"fraction of the power in {cfg['fmin']}-{cfg['fmax']} Hz",
            "Units": "1",
        },
    }
    note = O.note(simulated)
    for data, path, what, columns in (
        (
            O.bandpower_table(spectra, names, F.UV2),
            out_bandpower,
            "Band power per channel and band",
            bandpower_columns,
        ),
        (table, out_aperiodic, "specparam aperiodic fit per channel", C.APERIODIC_COLUMNS),
        (peaks, out_peaks, "specparam peaks", C.PEAK_COLUMNS),
    ):
        write_tsv(
            data, path, f"{what}, {recording} ({note})", columns, [str(epochs_path)], simulated=simulated
        )


def connectivity_recording(epochs_path, *, recording: str, simulated: bool, cfg: dict, out_nc) -> None:
    """Coherence / PLV / wPLI per band between all EEG channel pairs."""
    full = F.with_defaults(cfg)
    con_cfg = full["connectivity"]
    bands = {b: full["bands"][b] for b in con_cfg["bands"]}
    epochs = mne.read_epochs(epochs_path, preload=True, verbose="error")
    data, names, valid = F.connectivity(epochs, con_cfg["methods"], bands, con_cfg["mode"])
    attrs = {
        **O.provenance_attrs(epochs_path, full, recording, simulated),
        "sampling_rate_Hz": float(epochs.info["sfreq"]),
        "mode": con_cfg["mode"],
        "title": f"EEG sensor connectivity, {recording} ({O.note(simulated)})",
    }
    ds = O.connectivity_dataset(data, valid, con_cfg["methods"], bands, names, attrs)
    write_netcdf(
        ds,
        out_nc,
        simulated=simulated,
        sources=[epochs_path],
        packages=EEG_PACKAGES,
        variables=C.variables_of(ds),
    )


# -- one recording, every step -----------------------------------------------------------

#: report file (:data:`neuroflow.eeg.report.REPORT_FILES`) -> key of the fused rule's output
_REPORT_OUTPUT = {"features": "spectra"}


def process_recording(
    spec: dict,
    files,
    *,
    montage: str,
    on_missing: str,
    preprocessing: dict,
    features: dict,
    out: dict,
    logs: dict,
    report: dict | None = None,
) -> None:
    """Every step of one recording in one job, each step logging to its own file:
    :func:`preprocess_recording` -> :func:`features_recording` -> (when ``out`` names
    ``connectivity``) :func:`connectivity_recording` -> (when ``report`` is given) the MNE
    Report of a subject x session x task that holds this recording only.

    ``out`` maps the keys of :func:`preprocess_recording` and ``spectra``, ``bandpower``,
    ``aperiodic``, ``peaks`` (``connectivity``, ``report``) to paths; ``logs`` maps
    ``preprocess``, ``features`` (``connectivity``, ``report``) to log paths; ``report`` is
    ``{"title": report stem, "truth": simulator's truth JSON or None}``. The files are those
    the steps write as separate jobs: each step reads what the previous one wrote.
    """
    stem, simulated = spec["stem"], spec["simulated"]
    with redirect_to_log(logs["preprocess"]):
        preprocess_recording(spec, files, montage=montage, on_missing=on_missing, cfg=preprocessing, out=out)
    with redirect_to_log(logs["features"]):
        features_recording(
            out["epochs"],
            recording=stem,
            simulated=simulated,
            cfg=features,
            out_nc=out["spectra"],
            out_bandpower=out["bandpower"],
            out_aperiodic=out["aperiodic"],
            out_peaks=out["peaks"],
        )
    if out.get("connectivity"):
        with redirect_to_log(logs["connectivity"]):
            connectivity_recording(
                out["epochs"], recording=stem, simulated=simulated, cfg=features, out_nc=out["connectivity"]
            )
    if report is not None:
        rec = {k: out.get(_REPORT_OUTPUT.get(k, k)) for k in REPORT_FILES}
        rec.update(label=stem, truth=report.get("truth"))
        with redirect_to_log(logs["report"]):
            recording_report(
                title=report["title"], simulated=simulated, recordings=[rec], out_html=out["report"]
            )


# -- group ------------------------------------------------------------------------------


def group_outputs(
    recordings,
    *,
    summaries,
    features,
    aperiodics,
    connectivities,
    truths: dict,
    out_table,
    out_nc,
    fig_aperiodic,
    fig_psd,
    fig_bandpower,
) -> pd.DataFrame:
    """One row per recording (quality, 1/f, alpha, band power, connectivity, truth), a group
    NetCDF (recording x band, recording x method x band; subject, session, task, run as
    coordinates along ``recording``) and the group figures.

    ``recordings`` are the recordings' BIDS stems, in the order of the per-recording files;
    ``truths`` maps the stems of simulated recordings to their ground-truth JSON.
    """
    group = G.read_group(recordings, summaries, features, aperiodics, connectivities, truths)
    table, bands = group.table, group.bands
    _write_group_table(table, bands, out_table, summaries)
    ds = O.group_dataset(table, group.relative, bands, summaries, features)
    if group.connectivity:
        ds["mean_connectivity"] = (
            ("recording", "method", "con_band"),
            np.array(group.connectivity),
            {"units": "1", "long_name": "mean over channel pairs"},
        )
        ds = ds.assign_coords(method=group.methods, con_band=group.con_bands)
    write_netcdf(
        ds,
        out_nc,
        simulated=bool(table["simulated"].any()),
        sources=summaries,
        packages=EEG_PACKAGES,
        variables=C.variables_of(ds),
    )
    plot_group_aperiodic(table, fig_aperiodic)
    plot_group_psd(group.spectra, group.simulated, fig_psd)
    plot_group_bandpower(table, bands, fig_bandpower)
    return table


def _write_group_table(table: pd.DataFrame, bands, out_table, summaries) -> None:
    """The group TSV with its sidecar (column descriptions, how many recordings simulated)."""
    cols = C.group_columns(table.columns, bands)
    n_sim = int(table["simulated"].sum())
    write_tsv(
        table,
        out_table,
        f"EEG group table: {len(table)} recordings of "
        f"{table['subject'].nunique()} subjects ({n_sim} SIMULATED recordings, "
        f"{len(table) - n_sim} real)",
        cols,
        [str(p) for p in summaries],
        simulated=bool(n_sim),
    )
