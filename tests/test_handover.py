"""What a lab hands over: pixel-exact report figures, readable preprocessing steps, licence
and citation files that agree with pyproject."""

import base64
import io
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from neuroflow.eeg import report

ROOT = Path(__file__).resolve().parents[1]


# -- MNE Report figures --------------------------------------------------------------------


def _connectivity(n_methods: int, n_bands: int) -> xr.Dataset:
    rng = np.random.default_rng(0)
    bands = ["delta", "theta", "alpha", "beta", "gamma"][:n_bands]
    methods = ["coh", "wpli"][:n_methods]
    return xr.Dataset(
        {
            "connectivity": (
                ("method", "band", "channel", "channel2"),
                rng.uniform(0, 1, (n_methods, n_bands, 4, 4)),
            )
        },
        coords={"method": methods, "band": bands},
        attrs={"recording": "sub-01_task-rest"},
    )


def _topomap_inputs(n_bands: int):
    import mne

    names = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2"]
    info = mne.create_info(names, 100.0, "eeg")
    info.set_montage("standard_1020", verbose="error")
    rng = np.random.default_rng(1)
    bands = ["delta", "theta", "alpha", "beta", "gamma"][:n_bands]
    ds = xr.Dataset(
        {
            "relative_band_power": (("channel", "band"), rng.uniform(0, 1, (len(names), n_bands))),
            "aperiodic_exponent": (("channel",), rng.uniform(1, 2, len(names))),
        },
        coords={"band": bands},
        attrs={"recording": "sub-01_task-rest"},
    )
    return ds, info


def _report_image(html: str, title: str):
    from PIL import Image

    m = re.search(rf'alt="{re.escape(title)}"\s+src="data:image/(\w+);base64,([^"]+)"', html)
    assert m, f"no image titled {title!r} in the report"
    return Image.open(io.BytesIO(base64.b64decode(m.group(2)))).convert("RGB")


def _line_columns(img) -> list[float]:
    """Column of the pure-green vertical line in the top, middle and bottom rows."""
    a = np.asarray(img).astype(int)
    green = np.abs(a - [0, 255, 0]).max(axis=2) < 8
    return [float(np.flatnonzero(green[r]).mean()) for r in (1, a.shape[0] // 2, -2)]


def _render(figs: dict, tmp_path, add) -> str:
    """Add `figs` (title -> figure, each with a vertical line at x = 0.5) to an MNE Report
    with `add`, save it, and return the HTML."""
    import mne
    from matplotlib.lines import Line2D

    rep = mne.Report(title="test", verbose="error")
    for title, fig in figs.items():
        fig.add_artist(
            Line2D([0.5, 0.5], [0, 1], color=(0, 1, 0), lw=3, zorder=100, transform=fig.transFigure)
        )
        add(rep, fig, title)
    out = tmp_path / "report.html"
    rep.save(out, open_browser=False, overwrite=True, verbose="error")
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "kind,size",
    [
        ("connectivity", (2, 3)),
        ("connectivity", (1, 5)),
        ("connectivity", (2, 1)),
        ("topomaps", 5),
        ("topomaps", 2),
    ],
)
def test_report_figures_decode_at_their_size_without_shear(tmp_path, kind, size):
    """The image in the report is exactly the figure's size x dpi pixels and a vertical line
    drawn across the figure stays vertical (MNE read a 7.1999-in figure's 720-px rows as 719
    px wide, shearing it). 3 bands x 2.4 in is that figure; 5 bands is wider than the page."""
    import matplotlib.pyplot as plt

    if kind == "connectivity":
        fig = report.plot_connectivity(_connectivity(*size), simulated=True)
    else:
        ds, info = _topomap_inputs(size)
        fig = report.plot_topomaps(ds, info, simulated=True)
    declared = {}

    def add(rep, fig, title):
        report.add_report_figure(rep, fig, title=title, section="s")
        declared[title] = (fig.get_size_inches() * fig.get_dpi()).tolist()

    html = _render({"figure": fig}, tmp_path, add)
    plt.close("all")
    img = _report_image(html, "figure")
    w, h = declared["figure"]
    assert img.size == (w, h) and w == int(w) and h == int(h)
    assert w <= 850  # MNE's img_max_width: no rescaling to a fractional dpi
    cols = _line_columns(img)
    assert max(cols) - min(cols) <= 0.5, f"vertical line sheared: columns {cols}"
    assert abs(cols[0] - w / 2) <= 2


def test_shear_check_detects_a_fractional_pixel_figure(tmp_path):
    """The check above can fail: the same 7.199999999999999-in figure added as it is (what the
    report did before) decodes 1 px narrower and sheared."""
    import matplotlib.pyplot as plt

    fig = report.plot_connectivity(_connectivity(2, 3), simulated=True)
    assert fig.get_size_inches()[0] * fig.get_dpi() != 720  # 719.9999999999999
    html = _render({"raw": fig}, tmp_path, lambda rep, f, t: rep.add_figure(f, title=t))
    plt.close("all")
    img = _report_image(html, "raw")
    cols = _line_columns(img)
    assert img.size[0] == 719 and max(cols) - min(cols) > 100


def test_fit_report_figure_gives_whole_pixels_under_the_width_limit():
    import matplotlib.pyplot as plt

    for w, h in [(2.4 * 3, 2.3 * 2), (11.0, 2.6), (0.1, 0.1), (6, 4)]:
        fig = plt.figure(figsize=(w, h))
        px = report.fit_report_figure(fig, max_width_px=850, max_dpi=100)
        size = fig.get_size_inches() * fig.get_dpi()
        assert tuple(size) == px and px[0] <= 850 and fig.get_dpi() == 100
        if 25 <= w * 100 <= 850:  # else the width limit, or the smallest size (a quarter inch)
            assert abs(px[0] - w * 100) <= 25 and abs(px[1] - h * 100) <= 12.5
        plt.close(fig)
    fig = plt.figure(figsize=(0.1, 0.1))
    assert report.fit_report_figure(fig) == (25, 25)
    plt.close(fig)
    fig = plt.figure(figsize=(11.0, 2.6))
    assert report.fit_report_figure(fig) == (850, 200)  # aspect kept: 2.6 * 8.5/11 = 2.0 in
    plt.close(fig)


# -- preprocessing steps -------------------------------------------------------------------

STEPS = [
    {"step": "filter", "l_freq": 1.0, "h_freq": 45.0, "method": "fir", "phase": "zero"},
    {"step": "notch", "freqs": [50.0, 100.0]},
    {"step": "resample", "from": 512.0, "to": 128.0},
    {"step": "bad_channels", "methods": ["flat", "deviation"], "bad": [], "interpolated": False},
    {"step": "reference", "kind": "average", "channels": []},
    {"step": "ica", "method": "infomax", "n_components": 15, "labeling": ["eog"], "excluded": [0, 3]},
    {
        "step": "epochs",
        "kind": "fixed",
        "n_epochs": 30,
        "n_kept": 28,
        "reject": {"activate": True, "peak_to_peak": 150.0, "flat": 1.0},
    },
]


def test_preprocessing_steps_render_as_step_setting_value_table():
    table = report.steps_table(STEPS)
    assert list(table.columns) == ["#", "step", "setting", "value"]
    value = {(r.step, r.setting): r.value for r in table.itertuples()}
    assert value[("filter", "l_freq")] == "1 Hz" and value[("filter", "h_freq")] == "45 Hz"
    assert value[("notch", "freqs")] == "50, 100 Hz"
    assert value[("resample", "from")] == "512 Hz" and value[("resample", "to")] == "128 Hz"
    assert value[("bad_channels", "bad")] == "none"
    assert value[("bad_channels", "interpolated")] == "no"
    assert value[("ica", "excluded")] == "ICA000, ICA003"  # MNE's component names, not a count
    assert value[("epochs", "reject.peak_to_peak")] == "150 µV"
    assert ("epochs", "reject.activate") not in value
    assert table["#"].tolist()[0] == 1 and table["#"].tolist()[-1] == 7
    html = report._table_html(table)
    assert "<table" in html and "<td>reject.flat</td>" in html and "{" not in html
    off = report.steps_table([{"step": "epochs", "kind": "fixed", "reject": None}])
    assert off["value"].tolist() == ["fixed", "none"]


# -- licence, citation, changelog ----------------------------------------------------------


def test_citation_cff_has_the_required_keys_and_matches_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    for key in ("cff-version", "message", "title", "authors", "version"):
        assert cff.get(key), f"CITATION.cff lacks {key}"
    assert cff["cff-version"] == "1.2.0"
    assert cff["title"] == meta["name"] and str(cff["version"]) == meta["version"]
    assert cff["license"] == meta["license"]
    assert all("name" in a or "family-names" in a for a in cff["authors"])


def test_license_file_is_the_license_pyproject_declares():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert meta["license"] == "MIT"
    assert text.startswith("MIT License") and "neuroflow contributors" in text
    assert "Permission is hereby granted, free of charge" in text


def test_changelog_has_an_unreleased_section():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog") and "keepachangelog.com" in text
    assert re.search(r"^## \[Unreleased\]$", text, re.M)
