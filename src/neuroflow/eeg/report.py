"""Per-subject/session MNE Reports and the group figures of the EEG stage (matplotlib Agg)."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import struct
from pathlib import Path

import numpy as np
import pandas as pd

from neuroflow.provenance import atomic_path, read_netcdf
from neuroflow.report.figures import _pyplot, _save


def _title(text: str, simulated: bool) -> str:
    return f"SIMULATED - {text}" if simulated else text


def _label(ds) -> str:
    return ds.attrs.get("recording") or f"sub-{ds.attrs['subject']}"


def plot_spectra(ds, simulated: bool, truth: dict | None = None):
    """Channel-mean Welch and multitaper PSD (log-log) with the aperiodic fit."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for var, dim, label in (("psd_welch", "freq", "Welch"), ("psd_multitaper", "freq_multitaper",
                                                               "multitaper")):
        f = ds[dim].values
        ax.loglog(f, ds[var].values.mean(axis=0) * 1e12, label=f"{label} (channel mean)")
    if "aperiodic_exponent" in ds:
        f = ds["freq"].values
        f = f[f > 0]
        off = float(np.median(ds["aperiodic_offset"].values))
        exp = float(np.median(ds["aperiodic_exponent"].values))
        ax.loglog(f, 10 ** (off - exp * np.log10(f)), "k--",
                  label=f"aperiodic fit, median exponent {exp:.2f}")
    if truth:
        ax.axvline(truth["alpha_peak_frequency"], color="tab:red", lw=0.8,
                   label=f"true alpha {truth['alpha_peak_frequency']:.2f} Hz, "
                         f"true exponent {truth['aperiodic_exponent']:.2f}")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power (uV^2/Hz)")
    ax.set_title(_title(f"{_label(ds)}: power spectrum", simulated))
    ax.legend(fontsize=7)
    return fig


def plot_topomaps(ds, info, simulated: bool):
    """Relative band power and the aperiodic exponent on the scalp."""
    import mne

    plt = _pyplot()
    maps = [(f"{b} rel. power", ds["relative_band_power"].sel(band=b).values)
            for b in ds["band"].values]
    if "aperiodic_exponent" in ds:
        maps.append(("aperiodic exponent", ds["aperiodic_exponent"].values))
    # at most four maps a row, so that the page shows them at full size (8.5 in wide at most)
    ncols = min(len(maps), 4)
    nrows = -(-len(maps) // ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(2.1 * ncols, 2.5 * nrows),
                             constrained_layout=True)
    for ax in axes.ravel()[len(maps):]:
        ax.remove()
    for ax, (name, values) in zip(axes.ravel(), maps):
        im, _ = mne.viz.plot_topomap(values, info, axes=ax, show=False, cmap="viridis",
                                     sensors=True, contours=0, res=32)
        ax.set_title(name, fontsize=8)
        fig.colorbar(im, ax=ax, shrink=0.6)
    fig.suptitle(_title(f"{_label(ds)}: scalp maps", simulated), fontsize=9)
    return fig


def plot_connectivity(con, simulated: bool):
    """Connectivity matrices: one panel per method and band."""
    plt = _pyplot()
    methods, bands = list(con["method"].values), list(con["band"].values)
    fig, axes = plt.subplots(len(methods), len(bands), squeeze=False,
                             figsize=(2.4 * len(bands), 2.3 * len(methods)), constrained_layout=True)
    for i, m in enumerate(methods):
        for j, b in enumerate(bands):
            ax = axes[i, j]
            im = ax.imshow(con["connectivity"].sel({"method": m, "band": b}).values, vmin=0, vmax=1,
                           cmap="magma", interpolation="nearest")
            ax.set_title(f"{m}, {b}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.6)
    fig.suptitle(_title(f"{_label(con)}: sensor connectivity", simulated), fontsize=9)
    return fig


#: Spacing and alignment for the tables of a report (MNE's page styles tables barely).
TABLE_CSS = ("<style>table.nf-table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}"
             "table.nf-table th,table.nf-table td{padding:.3em .8em;border-bottom:1px solid #ddd;"
             "text-align:left}table.nf-table th{background:#f3f3f3}"
             "table.nf-table tbody tr:nth-child(even){background:#fafafa}</style>")


def _psd_mean(raw):
    """Channel-mean Welch PSD of the good EEG channels: (freqs, V^2/Hz)."""
    sfreq = raw.info["sfreq"]
    spec = raw.compute_psd(method="welch", picks="eeg", fmax=sfreq / 2,
                           n_fft=min(int(2 * sfreq), raw.n_times), verbose="error")
    return spec.freqs, spec.get_data().mean(axis=0)


def plot_psd_before_after(raw_before, raw_after, simulated: bool, label: str):
    """Channel-mean Welch PSD after filtering (before bad-channel interpolation and ICA) and
    of the cleaned data, log power."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    fig.subplots_adjust(left=0.13, right=0.97, top=0.9, bottom=0.14)
    for raw, name, style in ((raw_after, "cleaned", "-"),
                             (raw_before, "filtered (before interpolation and ICA)", "--")):
        f, p = _psd_mean(raw)
        ax.semilogy(f, p * 1e12, style, lw=1.2, label=name)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power (uV^2/Hz), channel mean")
    ax.set_title(_title(f"{label}: power spectrum before / after cleaning", simulated), fontsize=9)
    ax.legend(fontsize=7)
    return fig


def plot_butterfly(raw, epochs, simulated: bool, label: str, seconds: float = 10.0):
    """Butterfly plots: the first ``seconds`` of the cleaned data and the mean of the kept
    epochs with its global field power (uV)."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(7, 5))
    fig.subplots_adjust(left=0.1, right=0.97, top=0.93, bottom=0.1, hspace=0.35)
    stop = min(raw.n_times, int(seconds * raw.info["sfreq"]))
    data, times = raw.get_data(picks="eeg", stop=stop, return_times=True)
    axes[0].plot(times, data.T * 1e6, lw=0.4, color="k", alpha=0.5)
    axes[0].set_title(_title(f"{label}: cleaned data, first {times[-1]:.0f} s, every EEG "
                             "channel", simulated), fontsize=9)
    axes[0].set_ylabel("uV")
    evoked = epochs.average(picks="eeg")
    ev = evoked.data * 1e6
    axes[1].plot(evoked.times, ev.T, lw=0.5, alpha=0.6)
    axes[1].plot(evoked.times, ev.std(axis=0), color="k", lw=1.5, label="GFP")
    axes[1].set_title(f"mean of the {len(epochs)} kept epochs (colours: channels)", fontsize=9)
    axes[1].set_xlabel("time (s)")
    axes[1].set_ylabel("uV")
    axes[1].legend(fontsize=7, loc="upper right")
    return fig


def plot_drop_log(log: pd.DataFrame, threshold_uv, simulated: bool, label: str):
    """Epoch rejection: peak-to-peak amplitude of each epoch (kept / dropped) against the
    threshold, and the drop reasons (criterion:channel)."""
    plt = _pyplot()
    fig, (ax, bar) = plt.subplots(1, 2, figsize=(8, 3), gridspec_kw={"width_ratios": [2, 1]})
    fig.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.16, wspace=0.45)
    kept = log["kept"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    p2p = log["max_peak_to_peak_uV"].to_numpy(float)
    ax.scatter(log["onset"][kept], p2p[kept], s=12, color="tab:blue", label="kept")
    ax.scatter(log["onset"][~kept], p2p[~kept], s=18, color="tab:red", marker="x", label="dropped")
    if threshold_uv:
        ax.axhline(float(threshold_uv), color="k", ls=":", lw=0.8,
                   label=f"threshold {float(threshold_uv):g} uV")
    ax.set_xlabel("epoch onset (s)")
    ax.set_ylabel("max peak-to-peak (uV)")
    ax.legend(fontsize=7)
    ax.set_title(_title(f"{label}: {int(kept.sum())} of {len(log)} epochs kept", simulated),
                 fontsize=9)
    reasons = log.loc[~kept, "drop_reason"].astype(str).value_counts().sort_index()
    if len(reasons):
        bar.barh(np.arange(len(reasons)), reasons.to_numpy(), color="tab:red")
        bar.set_yticks(np.arange(len(reasons)), reasons.index, fontsize=7)
        bar.set_xlabel("epochs dropped")
    else:
        bar.text(0.5, 0.5, "no epoch dropped", ha="center", va="center", transform=bar.transAxes)
        bar.set_axis_off()
    return fig


def plot_ica_scores(components: pd.DataFrame, simulated: bool, label: str):
    """ICA: each component's EOG (and ECG) score and explained variance; removed in red."""
    plt = _pyplot()
    scores = [c for c in ("eog_score", "ecg_score") if components[c].notna().any()]
    fig, axes = plt.subplots(1 + len(scores), 1, figsize=(7, 1.8 * (1 + len(scores))),
                             sharex=True, squeeze=False)
    fig.subplots_adjust(left=0.12, right=0.98, top=0.9, bottom=0.22, hspace=0.15)
    x = np.arange(len(components))
    removed = components["excluded"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    colors = np.where(removed, "tab:red", "tab:gray")
    for ax, col in zip(axes[:, 0], ["explained_variance", *scores]):
        ax.bar(x, components[col].to_numpy(float), color=colors)
        ax.set_ylabel(col.replace("_", " "), fontsize=7)
        ax.axhline(0, color="k", lw=0.5)
    axes[-1, 0].set_xticks(x, components["component"], rotation=90, fontsize=6)
    axes[0, 0].set_title(_title(f"{label}: ICA components ({int(removed.sum())} removed, red)",
                                simulated), fontsize=9)
    return fig


def _table_html(df: pd.DataFrame) -> str:
    table = df.to_html(index=False, float_format=lambda x: f"{x:.3g}", na_rep="n/a", border=0,
                       classes="nf-table table table-sm table-striped")
    return f'<div style="overflow-x:auto">{table}</div>'  # wide tables scroll, not overflow


#: Units of the preprocessing-step settings recorded in the summary JSON (``steps``).
STEP_UNITS = {("filter", "l_freq"): "Hz", ("filter", "h_freq"): "Hz", ("notch", "freqs"): "Hz",
              ("resample", "from"): "Hz", ("resample", "to"): "Hz",
              ("epochs", "reject.peak_to_peak"): "µV", ("epochs", "reject.flat"): "µV"}


def _setting_text(value, unit: str | None) -> str:
    """One setting as a reader would write it: lists joined, None as "none", units added."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        if not value:
            return "none"
        return ", ".join(_setting_text(v, None) for v in value) + (f" {unit}" if unit else "")
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{value} {unit}" if unit else str(value)


def steps_table(steps: list[dict]) -> pd.DataFrame:
    """The preprocessing steps of a summary JSON as rows of (step, setting, value).

    ``steps`` is the summary's list of ``{"step": name, setting: value, ...}`` in the order
    applied; nested settings (``reject``) become ``reject.peak_to_peak``...; a step without
    settings gets one row with an empty setting. Values are text with units (Hz, µV).
    """
    rows = []
    for i, s in enumerate(steps, start=1):
        name = s["step"]
        flat = {}
        for key, value in s.items():
            if key == "step":
                continue
            if isinstance(value, dict):
                flat.update({f"{key}.{k}": v for k, v in value.items() if k != "activate"})
            else:
                flat[key] = value
        if not flat:
            rows.append({"#": i, "step": name, "setting": "", "value": ""})
        for key, value in flat.items():
            if (name, key) == ("ica", "excluded"):  # component indices -> MNE's names
                value = [f"ICA{int(v):03d}" for v in value]
            rows.append({"#": i, "step": name, "setting": key,
                         "value": _setting_text(value, STEP_UNITS.get((name, key)))})
    return pd.DataFrame(rows, columns=["#", "step", "setting", "value"])


# -- figures in the MNE Report ------------------------------------------------------------

#: Figure sizes in the report are whole quarter inches: a quarter inch is exact in binary
#: floating point, so width x dpi is a whole number of pixels exactly (a size such as
#: 2.4 * 3 = 7.199999999999999 in makes MNE read Agg's 720-px-wide buffer as 719 px wide,
#: which shears the image diagonally).
_SIZE_STEP_IN = 0.25


def fit_report_figure(fig, *, max_width_px: int = 850, max_dpi: float = 100) -> tuple[int, int]:
    """Give `fig` a dpi and size that MNE's Report renders pixel-exact; return (width, height)
    in pixels.

    MNE renders a figure at ``min(dpi, max_dpi, max_width_px / width)`` dots per inch; here
    the dpi is set to a whole number that no limit lowers, the figure shrinks (aspect kept)
    to fit ``max_width_px`` and its size is rounded to whole quarter inches, so that width x
    dpi and height x dpi are exact integers. ``max_width_px`` and ``max_dpi`` are the
    Report's ``img_max_width`` and ``img_max_res``.
    """
    dpi = int(max_dpi)
    while dpi > 1 and (dpi * _SIZE_STEP_IN) % 1:  # quarter inches in whole pixels
        dpi -= 1
    w, h = fig.get_size_inches()
    scale = min(1.0, max_width_px / (w * dpi))
    step = 1 / _SIZE_STEP_IN
    w_q = max(1, round(w * scale * step)) / step
    if w_q * dpi > max_width_px:  # rounded up over the width limit
        w_q -= _SIZE_STEP_IN
    h_q = max(1, round(h * scale * step)) / step
    fig.set_dpi(dpi)
    fig.set_size_inches(w_q, h_q)
    return int(w_q * dpi), int(h_q * dpi)


def figure_png(fig) -> bytes:
    """The figure as PNG at its own size and dpi (no bbox cropping, no software stamp)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.get_dpi(), metadata={"Software": None})
    return buf.getvalue()


def add_report_figure(rep, fig, *, title: str, section: str) -> tuple[int, int]:
    """Add a matplotlib figure to an MNE Report pixel-exact; return its (width, height) px.

    The size is fitted to whole pixels (:func:`fit_report_figure`), the figure saved as PNG
    by matplotlib itself, and the image embedded with that size declared as its ``width``
    and ``height`` (a browser check compares them with the decoded image).

    Raises
    ------
    RuntimeError
        If matplotlib wrote another size than the fitted one.
    """
    width, height = fit_report_figure(fig, max_width_px=rep.img_max_width or 10**6,
                                      max_dpi=rep.img_max_res or 100)
    data = figure_png(fig)
    got = struct.unpack(">II", data[16:24])
    if got != (width, height):
        raise RuntimeError(f"report figure {title!r}: PNG is {got} px, expected {(width, height)}")
    src = base64.b64encode(data).decode("ascii")
    rep.add_html(f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{src}" '
                 f'width="{width}" height="{height}" style="max-width:100%;height:auto">'
                 "</figure>", title=title, section=section)
    return width, height


#: Per-recording files a report section reads (keys of :func:`recording_report`'s dicts).
REPORT_FILES = ("filtered", "clean", "epochs", "ica", "channels", "components", "epochs_log",
                "summary", "features", "aperiodic", "connectivity", "truth")


def recording_report(*, title: str, simulated: bool, recordings: list[dict], out_html) -> None:
    """Write one MNE Report (HTML, self-contained) for one or more recordings.

    As in MNE-BIDS-Pipeline, a report covers one subject x session x task (x acquisition);
    each run is a group of sections (``run-2: Spectra``...). ``recordings`` holds one dict
    per recording with ``label`` (its BIDS stem) and the paths of :data:`REPORT_FILES`
    (``ica``, ``connectivity`` and ``truth`` may be None). Per recording: the steps as a
    table, the PSD before / after cleaning, butterfly plots, channels, ICA scores and
    components (where ICA ran), the drop log, spectra, scalp maps and connectivity; every
    figure of ours embedded at whole pixels with its size declared (:func:`add_report_figure`).
    """
    import matplotlib
    import mne

    matplotlib.use("Agg")
    rep = mne.Report(title=_title(f"neuroflow EEG: {title}", simulated), verbose="error")
    note = ("<p><b>SIMULATED data</b> from neuroflow's seeded simulator; ground truth below.</p>"
            if simulated else "<p>Real recording.</p>")
    runs = "".join(f"<li>{html.escape(r['label'])}</li>" for r in recordings)
    rep.add_html(f"{note}<p>{len(recordings)} recording(s):</p><ul>{runs}</ul>",
                 title="Recordings", section="Summary")
    for r in recordings:
        prefix = "" if len(recordings) == 1 else _run_label(r["label"], title) + ": "
        _add_recording(rep, r, simulated, prefix)
    tmp = atomic_path(out_html, suffix=".html")
    try:
        rep.save(tmp, open_browser=False, overwrite=True, verbose="error")
        tmp.write_text(deterministic_html(tmp.read_text(encoding="utf-8")), encoding="utf-8")
        tmp.replace(out_html)
    finally:
        tmp.unlink(missing_ok=True)


def _run_label(label: str, title: str) -> str:
    """What distinguishes a recording inside its report (``run-2``), else its whole stem."""
    extra = [p for p in label.split("_") if p not in title.split("_")]
    return "_".join(extra) or label


def _add_recording(rep, r: dict, simulated: bool, prefix: str) -> None:
    import mne

    summ = json.loads(Path(r["summary"]).read_text())
    truth_d = json.loads(Path(r["truth"]).read_text()) if r.get("truth") else None
    label = r["label"]
    _add_summary(rep, summ, truth_d, prefix)
    raw_f = mne.io.read_raw_fif(r["filtered"], preload=True, verbose="error")
    raw_c = mne.io.read_raw_fif(r["clean"], preload=True, verbose="error")
    ep = mne.read_epochs(r["epochs"], preload=True, verbose="error")
    rep.add_raw(raw_c, title=f"{prefix}Cleaned (after ICA)", psd=False, butterfly=False,
                tags=("data",))
    _add_plot(rep, plot_psd_before_after(raw_f, raw_c, simulated, label),
              f"{prefix}Power spectrum before / after cleaning", f"{prefix}Data")
    _add_plot(rep, plot_butterfly(raw_c, ep, simulated, label), f"{prefix}Butterfly plots",
              f"{prefix}Data")
    rep.add_html(_table_html(pd.read_csv(r["channels"], sep="\t")), title=f"{prefix}Channels",
                 section=f"{prefix}Bad channels")
    if r.get("ica"):
        _add_ica(rep, r, raw_f, simulated, label, prefix)
    _add_epochs(rep, r, ep, summ, simulated, label, prefix)
    _add_spectra(rep, r, ep, simulated, truth_d, prefix)
    if r.get("connectivity"):
        con = read_netcdf(r["connectivity"], "EEG connectivity")
        _add_plot(rep, plot_connectivity(con, simulated), f"{prefix}Sensor connectivity",
                  f"{prefix}Connectivity")


def _add_plot(rep, fig, title: str, section: str) -> None:
    add_report_figure(rep, fig, title=title, section=section)
    _pyplot().close(fig)


def _add_summary(rep, summ: dict, truth_d, prefix: str) -> None:
    rep.add_html(f"{TABLE_CSS}<p>Input: {html.escape(Path(summ['recording']).name)}</p>"
                 f"{_table_html(steps_table(summ['steps']))}",
                 title=f"{prefix}Preprocessing steps", section=f"{prefix}Summary")
    if truth_d:
        keys = ("aperiodic_exponent", "alpha_peak_frequency", "dead_channel", "n_blinks")
        rep.add_html(_table_html(pd.DataFrame([{k: truth_d[k] for k in keys}])),
                     title=f"{prefix}Simulation ground truth", section=f"{prefix}Summary")


def _add_ica(rep, r: dict, raw_f, simulated: bool, label: str, prefix: str) -> None:
    import mne

    ica_obj = mne.preprocessing.read_ica(r["ica"], verbose="error")
    comps = pd.read_csv(r["components"], sep="\t")
    _add_plot(rep, plot_ica_scores(comps, simulated, label), f"{prefix}ICA component scores",
              f"{prefix}ICA")
    # properties and overlay of the removed components only (all of them would take long)
    rep.add_ica(ica_obj, title=f"{prefix}ICA", inst=raw_f if ica_obj.exclude else None,
                picks=ica_obj.exclude or None, n_jobs=1, tags=("ica",))
    rep.add_html(_table_html(comps), title=f"{prefix}ICA components", section=f"{prefix}ICA")


def _reject_threshold(steps: list[dict]):
    """The peak-to-peak rejection threshold (uV) of the epochs step, or None."""
    for step in steps:
        if step["step"] == "epochs" and step.get("reject"):
            return step["reject"].get("peak_to_peak")
    return None


def _add_epochs(rep, r: dict, ep, summ: dict, simulated: bool, label: str, prefix: str) -> None:
    # (Report.add_epochs' ERP image is not byte-reproducible; the table and drop log are)
    log = pd.read_csv(r["epochs_log"], sep="\t")
    rep.add_html(ep._repr_html_(), title=f"{prefix}Epochs kept", section=f"{prefix}Epochs")
    _add_plot(rep, plot_drop_log(log, _reject_threshold(summ["steps"]), simulated, label),
              f"{prefix}Drop log", f"{prefix}Epochs")
    rep.add_html(_table_html(log), title=f"{prefix}Epoch rejection log", section=f"{prefix}Epochs")


def _add_spectra(rep, r: dict, ep, simulated: bool, truth_d, prefix: str) -> None:
    ds = read_netcdf(r["features"], "EEG features")
    _add_plot(rep, plot_spectra(ds, simulated, truth_d),
              f"{prefix}Power spectrum and aperiodic fit", f"{prefix}Spectra")
    _add_plot(rep, plot_topomaps(ds, ep.info, simulated), f"{prefix}Scalp maps", f"{prefix}Spectra")
    rep.add_html(_table_html(pd.read_csv(r["aperiodic"], sep="\t")),
                 title=f"{prefix}specparam per channel", section=f"{prefix}Spectra")


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CREATED = re.compile(r"Created on \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def deterministic_html(text: str) -> str:
    """Make an MNE Report byte-reproducible: random element ids become sequential, and the
    creation time is dropped (the provenance JSON of the subject records the inputs)."""
    ids: dict[str, str] = {}
    text = _UUID.sub(lambda m: ids.setdefault(m.group(0), f"nf{len(ids):04d}"), text)
    return _CREATED.sub("Created", text)


# -- group figures ----------------------------------------------------------------------

def _names(table: pd.DataFrame) -> list[str]:
    """Short recording labels for axes: the BIDS stem without ``sub-`` and ``task-``."""
    return [re.sub(r"(^sub-|_task-[A-Za-z0-9]+)", "", r) for r in table["recording"]]


def plot_group_aperiodic(table: pd.DataFrame, path) -> None:
    """Per-recording aperiodic exponent and alpha peak; simulated truth as red crosses."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), constrained_layout=True)
    x = np.arange(len(table))
    labels = [f"{s}{' (sim)' if sim else ''}" for s, sim in zip(_names(table), table["simulated"])]
    for ax, col, truth, unit in ((axes[0], "exponent", "truth_exponent", ""),
                                 (axes[1], "alpha_peak_frequency", "truth_alpha_peak_frequency", " (Hz)")):
        ax.bar(x, table[col], color=["tab:gray" if s else "tab:blue" for s in table["simulated"]],
               label="recovered (median over channels)")
        if truth in table and table[truth].notna().any():
            ax.plot(x, table[truth], "rx", ms=9, mew=2, label="simulated truth")
        ax.set_xticks(x, labels, rotation=30, ha="right")
        ax.set_ylabel(col.replace("_", " ") + unit)
        ax.legend(fontsize=7, loc="lower right")
    n_sim = int(table["simulated"].sum())
    fig.suptitle(f"Aperiodic exponent and alpha peak per recording ({n_sim} SIMULATED, "
                 f"{len(table) - n_sim} real)", fontsize=9)
    _save(fig, path)
    plt.close(fig)


def plot_group_psd(spectra: dict, simulated: dict, path) -> None:
    """Channel-mean Welch spectra of every recording (keys: BIDS stems), log-log."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for rec, (f, p) in spectra.items():
        ax.loglog(f, p * 1e12, ls="--" if simulated[rec] else "-",
                  label=f"{rec}{' (SIMULATED)' if simulated[rec] else ''}")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power (uV^2/Hz)")
    ax.set_title("Channel-mean power spectra after preprocessing (Welch)")
    ax.legend(fontsize=7)
    _save(fig, path)
    plt.close(fig)


def plot_group_bandpower(table: pd.DataFrame, bands, path) -> None:
    """Stacked relative band power (mean over channels) per recording."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4), constrained_layout=True)
    bottom = np.zeros(len(table))
    x = np.arange(len(table))
    for b in bands:
        vals = table[f"relative_{b}"].to_numpy(float)
        ax.bar(x, vals, bottom=bottom, label=b)
        bottom += vals
    ax.set_xticks(x, [f"{s}{' (sim)' if sim else ''}" for s, sim in
                      zip(_names(table), table["simulated"])], rotation=30, ha="right")
    ax.set_ylabel("relative power")
    ax.set_title("Relative band power, mean over channels (sim = SIMULATED)")
    ax.legend(fontsize=7, bbox_to_anchor=(1.0, 1.0), loc="upper left")
    _save(fig, path)
    plt.close(fig)
