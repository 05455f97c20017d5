"""Per-recording MNE Reports of the EEG stage: one self-contained HTML per subject x
session x task, its figures (:mod:`neuroflow.eeg.figures`) embedded pixel-exact, its
tables (preprocessing steps, channels, ICA components, the drop log)."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import struct
from pathlib import Path

import matplotlib
import mne
import pandas as pd

from neuroflow.eeg.figures import (
    plot_butterfly,
    plot_connectivity,
    plot_drop_log,
    plot_ica_scores,
    plot_psd_before_after,
    plot_spectra,
    plot_topomaps,
    sim_title,
)
from neuroflow.provenance import atomic_path, read_netcdf
from neuroflow.report.figures import _pyplot

#: Spacing and alignment for the tables of a report (MNE's page styles tables barely).
TABLE_CSS = (
    "<style>table.nf-table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}"
    "table.nf-table th,table.nf-table td{padding:.3em .8em;border-bottom:1px solid #ddd;"
    "text-align:left}table.nf-table th{background:#f3f3f3}"
    "table.nf-table tbody tr:nth-child(even){background:#fafafa}</style>"
)


def _table_html(df: pd.DataFrame) -> str:
    table = df.to_html(
        index=False,
        float_format=lambda x: f"{x:.3g}",
        na_rep="n/a",
        border=0,
        classes="nf-table table table-sm table-striped",
    )
    return f'<div style="overflow-x:auto">{table}</div>'  # wide tables scroll, not overflow


#: Units of the preprocessing-step settings recorded in the summary JSON (``steps``).
STEP_UNITS = {
    ("filter", "l_freq"): "Hz",
    ("filter", "h_freq"): "Hz",
    ("notch", "freqs"): "Hz",
    ("resample", "from"): "Hz",
    ("resample", "to"): "Hz",
    ("epochs", "reject.peak_to_peak"): "µV",
    ("epochs", "reject.flat"): "µV",
}


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
            rows.append(
                {
                    "#": i,
                    "step": name,
                    "setting": key,
                    "value": _setting_text(value, STEP_UNITS.get((name, key))),
                }
            )
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
    width, height = fit_report_figure(
        fig, max_width_px=rep.img_max_width or 10**6, max_dpi=rep.img_max_res or 100
    )
    data = figure_png(fig)
    got = struct.unpack(">II", data[16:24])
    if got != (width, height):
        raise RuntimeError(f"report figure {title!r}: PNG is {got} px, expected {(width, height)}")
    src = base64.b64encode(data).decode("ascii")
    rep.add_html(
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{src}" '
        f'width="{width}" height="{height}" style="max-width:100%;height:auto">'
        "</figure>",
        title=title,
        section=section,
    )
    return width, height


#: Per-recording files a report section reads (keys of :func:`recording_report`'s dicts).
REPORT_FILES = (
    "filtered",
    "clean",
    "epochs",
    "ica",
    "channels",
    "components",
    "epochs_log",
    "summary",
    "features",
    "aperiodic",
    "connectivity",
    "truth",
)


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
    matplotlib.use("Agg")
    rep = mne.Report(title=sim_title(f"neuroflow EEG: {title}", simulated), verbose="error")
    note = (
        "<p><b>SIMULATED data</b> from neuroflow's seeded simulator; ground truth below.</p>"
        if simulated
        else "<p>Real recording.</p>"
    )
    runs = "".join(f"<li>{html.escape(r['label'])}</li>" for r in recordings)
    rep.add_html(
        f"{note}<p>{len(recordings)} recording(s):</p><ul>{runs}</ul>", title="Recordings", section="Summary"
    )
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
    summ = json.loads(Path(r["summary"]).read_text())
    truth_d = json.loads(Path(r["truth"]).read_text()) if r.get("truth") else None
    label = r["label"]
    _add_summary(rep, summ, truth_d, prefix)
    raw_f = mne.io.read_raw_fif(r["filtered"], preload=True, verbose="error")
    raw_c = mne.io.read_raw_fif(r["clean"], preload=True, verbose="error")
    ep = mne.read_epochs(r["epochs"], preload=True, verbose="error")
    rep.add_raw(raw_c, title=f"{prefix}Cleaned (after ICA)", psd=False, butterfly=False, tags=("data",))
    _add_plot(
        rep,
        plot_psd_before_after(raw_f, raw_c, simulated, label),
        f"{prefix}Power spectrum before / after cleaning",
        f"{prefix}Data",
    )
    _add_plot(rep, plot_butterfly(raw_c, ep, simulated, label), f"{prefix}Butterfly plots", f"{prefix}Data")
    rep.add_html(
        _table_html(pd.read_csv(r["channels"], sep="\t")),
        title=f"{prefix}Channels",
        section=f"{prefix}Bad channels",
    )
    if r.get("ica"):
        _add_ica(rep, r, raw_f, simulated, label, prefix)
    _add_epochs(rep, r, ep, summ, simulated, label, prefix)
    _add_spectra(rep, r, ep, simulated, truth_d, prefix)
    if r.get("connectivity"):
        con = read_netcdf(r["connectivity"], "EEG connectivity")
        _add_plot(
            rep, plot_connectivity(con, simulated), f"{prefix}Sensor connectivity", f"{prefix}Connectivity"
        )


def _add_plot(rep, fig, title: str, section: str) -> None:
    add_report_figure(rep, fig, title=title, section=section)
    _pyplot().close(fig)


def _add_summary(rep, summ: dict, truth_d, prefix: str) -> None:
    rep.add_html(
        f"{TABLE_CSS}<p>Input: {html.escape(Path(summ['recording']).name)}</p>"
        f"{_table_html(steps_table(summ['steps']))}",
        title=f"{prefix}Preprocessing steps",
        section=f"{prefix}Summary",
    )
    if truth_d:
        keys = ("aperiodic_exponent", "alpha_peak_frequency", "dead_channel", "n_blinks")
        rep.add_html(
            _table_html(pd.DataFrame([{k: truth_d[k] for k in keys}])),
            title=f"{prefix}Simulation ground truth",
            section=f"{prefix}Summary",
        )


def _add_ica(rep, r: dict, raw_f, simulated: bool, label: str, prefix: str) -> None:
    ica_obj = mne.preprocessing.read_ica(r["ica"], verbose="error")
    comps = pd.read_csv(r["components"], sep="\t")
    _add_plot(rep, plot_ica_scores(comps, simulated, label), f"{prefix}ICA component scores", f"{prefix}ICA")
    # properties and overlay of the removed components only (all of them would take long)
    rep.add_ica(
        ica_obj,
        title=f"{prefix}ICA",
        inst=raw_f if ica_obj.exclude else None,
        picks=ica_obj.exclude or None,
        n_jobs=1,
        tags=("ica",),
    )
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
    _add_plot(
        rep,
        plot_drop_log(log, _reject_threshold(summ["steps"]), simulated, label),
        f"{prefix}Drop log",
        f"{prefix}Epochs",
    )
    rep.add_html(_table_html(log), title=f"{prefix}Epoch rejection log", section=f"{prefix}Epochs")


def _add_spectra(rep, r: dict, ep, simulated: bool, truth_d, prefix: str) -> None:
    ds = read_netcdf(r["features"], "EEG features")
    _add_plot(
        rep,
        plot_spectra(ds, simulated, truth_d),
        f"{prefix}Power spectrum and aperiodic fit",
        f"{prefix}Spectra",
    )
    _add_plot(rep, plot_topomaps(ds, ep.info, simulated), f"{prefix}Scalp maps", f"{prefix}Spectra")
    rep.add_html(
        _table_html(pd.read_csv(r["aperiodic"], sep="\t")),
        title=f"{prefix}specparam per channel",
        section=f"{prefix}Spectra",
    )


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CREATED = re.compile(r"Created on \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def deterministic_html(text: str) -> str:
    """Make an MNE Report byte-reproducible: random element ids become sequential, and the
    creation time is dropped (the provenance JSON of the subject records the inputs)."""
    ids: dict[str, str] = {}
    text = _UUID.sub(lambda m: ids.setdefault(m.group(0), f"nf{len(ids):04d}"), text)
    return _CREATED.sub("Created", text)
