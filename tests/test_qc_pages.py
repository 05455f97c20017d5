"""QC pages in a real browser: the fMRI subject and group pages and the EEG report figures.

Headless Chromium opens each page; every image must decode to exactly the pixel size the
page declares for it (the class of the sheared-figure bug: a buffer read at another width than
drawn), and the page must log no console error. Skips where Debian's chromium or playwright
is absent (tests/system/install.sh installs chromium in CI).
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroflow.fmri import pipeline as P
from neuroflow.fmri.qc import QCSettings
from neuroflow.fmri.report import group_qc_page, png_size, write_subject_page
from neuroflow.fmri.simulate import SPACE, make_atlas, make_fmriprep_run

CLEAN = {"detrend": True, "standardize": "zscore_sample", "standardize_confounds": True}
STRATEGIES = {
    "simple": {"loader": "simple", "options": {"motion": "basic"}, **CLEAN},
    "scrub": {"loader": "scrubbing", "options": {"fd_threshold": 0.5, "std_dvars_threshold": 3.0}, **CLEAN},
}
IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => { i.loading = 'eager'; return i.decode().catch(() => null); }));
  return imgs.map(i => ({alt: i.alt, nw: i.naturalWidth, nh: i.naturalHeight,
                         w: i.getAttribute('width'), h: i.getAttribute('height')}));
}"""


def _fmri_run(root: Path, sub: str, high_motion=()) -> dict:
    """One SIMULATED run through confounds, parcellation and QC (the rules' functions)."""
    run = make_fmriprep_run(
        root / "deriv", sub=sub, n_volumes=50, high_motion=high_motion, random_state=int(sub)
    )
    atlas = make_atlas(root / "atlas.nii.gz")
    stem = f"sub-{sub}_task-rest_run-1_space-{SPACE}"
    row = {
        "kind": "volume",
        "stem": stem,
        "sub": sub,
        "bold": run["bold"],
        "bold_rh": "",
        "bold_json": run["bold_json"],
        "confounds": run["confounds"],
        "confounds_format": "fmriprep",
        "t_r": "",
        "t_r_source": "header",
        "space": SPACE,
        "den": "",
        "timeseries": "",
    }
    out = root / f"sub-{sub}/func"
    out.mkdir(parents=True, exist_ok=True)
    regs = {n: str(out / f"{stem}_desc-{n}_regressors.tsv") for n in STRATEGIES}
    for name, strategy in STRATEGIES.items():
        P.run_confounds(row, name, strategy, 0.5, 0.0, regs[name])
    raw = out / f"{stem}_atlas-slab_desc-raw_timeseries.tsv"
    P.run_parcellate(row, "slab", {"space": SPACE, "path": str(atlas)}, raw)
    files = {
        "qc": out / f"{stem}_desc-qc_bold.tsv",
        "carpet": out / f"{stem}_desc-carpet_bold.png",
        "panels": out / f"{stem}_desc-qc_bold.png",
    }
    P.run_qc(
        row,
        STRATEGIES,
        regs,
        QCSettings(0.5, 400, 500, 1e-3),
        files["qc"],
        files["carpet"],
        out_figure=files["panels"],
    )
    page = root / f"sub-{sub}/figures/sub-{sub}_desc-fmri_report.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    write_subject_page(
        sub,
        [files["qc"]],
        [files["carpet"]],
        [files["panels"]],
        [Path(r).with_suffix(".json") for r in regs.values()],
        [raw.with_suffix(".json")],
        page,
    )
    return {"page": page, **files}


def _eeg_report(path: Path) -> int:
    """An MNE Report with the EEG page's own figures and tables, on 20 s of noise EEG.
    Returns the number of figures added."""
    import matplotlib.pyplot as plt
    import mne

    from neuroflow.eeg import report as R
    from neuroflow.eeg.devdata import noise_raw

    raw = noise_raw(duration=20.0)
    clean = raw.copy().filter(1.0, 40.0, verbose="error")
    epochs = mne.make_fixed_length_epochs(clean, duration=2.0, preload=True, verbose="error")
    p2p = np.ptp(epochs.get_data(), axis=2).max(axis=1) * 1e6
    log = pd.DataFrame(
        {
            "onset": np.arange(len(p2p)) * 2.0,
            "max_peak_to_peak_uV": p2p,
            "kept": p2p < np.median(p2p) * 1.05,
            "drop_reason": "peak_to_peak:Fz",
        }
    )
    comps = pd.DataFrame(
        {
            "component": [f"ICA{i:03d}" for i in range(5)],
            "explained_variance": [0.4, 0.2, 0.15, 0.1, 0.05],
            "eog_score": [0.9, 0.1, -0.2, 0.05, 0.0],
            "ecg_score": np.nan,
            "excluded": [True, False, False, False, False],
        }
    )
    rep = mne.Report(title="EEG figures", verbose="error")
    R._add_summary(
        rep,
        {
            "recording": "sub-01_task-rest_eeg.fif",
            "steps": [
                {"step": "filter", "l_freq": 1.0, "h_freq": 40.0},
                {"step": "epochs", "kind": "fixed", "reject": {"activate": True, "peak_to_peak": 150.0}},
            ],
        },
        None,
        "",
    )
    figs = [
        (R.plot_psd_before_after(raw, clean, True, "sub-01"), "PSD"),
        (R.plot_butterfly(clean, epochs, True, "sub-01"), "Butterfly"),
        (R.plot_drop_log(log, 150.0, True, "sub-01"), "Drop log"),
        (R.plot_ica_scores(comps, True, "sub-01"), "ICA scores"),
    ]
    for fig, title in figs:
        R.add_report_figure(rep, fig, title=title, section="figures")
        plt.close(fig)
    rep.save(path, open_browser=False, overwrite=True, verbose="error")
    return len(figs)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("qcpages")
    runs = [_fmri_run(root, "01"), _fmri_run(root, "02", high_motion=range(10, 16))]
    qc = pd.concat([P.read_qc_table(r["qc"]) for r in runs], ignore_index=True)
    group_qc_page(qc, root, root / "group/fmri/desc-qc_report.html", 3.0)
    n_eeg = _eeg_report(root / "eeg_report.html")
    return {"root": root, "runs": runs, "n_eeg": n_eeg}


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (tests/system/install.sh installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


def _open(browser, path: Path) -> tuple[list[dict], list[str]]:
    """Images (decoded and declared sizes) and console errors of a page."""
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    images = page.evaluate(IMAGES_JS)
    page.close()
    return images, errors


def _mismatched(images: list[dict]) -> list[dict]:
    return [
        i
        for i in images
        if i["w"] is None or i["h"] is None or (i["nw"], i["nh"]) != (int(i["w"]), int(i["h"]))
    ]


def test_fmri_pages_decode_every_image_at_its_declared_size(pages, browser):
    for page in [r["page"] for r in pages["runs"]]:
        images, errors = _open(browser, page)
        assert errors == []
        assert len(images) == 2  # the QC panels and the carpets of the one run
        assert _mismatched(images) == []
        assert all(i["nw"] > 0 for i in images)
    images, errors = _open(browser, pages["root"] / "group/fmri/desc-qc_report.html")
    assert errors == [] and images == []


def test_eeg_report_figures_decode_at_their_declared_size(pages, browser):
    images, errors = _open(browser, pages["root"] / "eeg_report.html")
    assert errors == []
    ours = [i for i in images if i["alt"] in ("PSD", "Butterfly", "Drop log", "ICA scores")]
    assert len(ours) == pages["n_eeg"]
    assert _mismatched(ours) == []


def test_size_check_catches_an_image_declared_at_another_size(pages, browser, tmp_path):
    """The check can fail: a PNG declared 1 px wider than it is (as a sheared buffer is)."""
    png = pages["runs"][0]["carpet"].read_bytes()
    w, h = png_size(png)
    src = base64.b64encode(png).decode()
    page = tmp_path / "bad.html"
    page.write_text(
        f'<!DOCTYPE html><html><body><img alt="x" src="data:image/png;base64,{src}" '
        f'width="{w + 1}" height="{h}"></body></html>'
    )
    images, errors = _open(browser, page)
    assert errors == [] and len(_mismatched(images)) == 1


def test_subject_page_says_what_needs_attention(pages):
    html = pages["runs"][1]["page"].read_text()
    qc = pd.read_csv(pages["runs"][1]["qc"], sep="\t").set_index("strategy")
    assert qc.loc["scrub", "n_kept"] < qc.loc["simple", "n_kept"] == 50  # censored volumes
    assert f"{int(qc.loc['scrub', 'n_kept'])}" in html and "Region coverage" in html
    assert "sub-02_task-rest_run-1" in html and "data:image/png;base64," in html


def test_outlier_flags_follow_median_and_scaled_mad():
    from scipy.stats import median_abs_deviation

    from neuroflow.fmri.report import flag_outliers

    values = pd.Series([0.10, 0.12, 0.11, 0.13, 0.09, 0.60, np.nan])
    flags, rule = flag_outliers(values, 3.0)
    ok = values.dropna()
    mad = median_abs_deviation(ok, scale="normal")  # scipy as the reference for 1.4826 x MAD
    expected = (values - ok.median()).abs() > 3.0 * mad
    assert flags.tolist() == expected.tolist() == [False] * 5 + [True, False]
    assert f"{mad:.3g}" in rule
    none, why = flag_outliers(pd.Series([0.2] * 5 + [0.9]), 3.0)
    assert not none.any() and "MAD 0" in why  # half the runs identical: MAD 0, nothing flagged


def test_group_page_flags_the_outlier_run_and_links_its_subject(tmp_path):
    from neuroflow.fmri.report import write_group_page

    qc = pd.DataFrame(
        {
            "stem": [f"sub-{i:02d}_task-rest" for i in range(6)],
            "sub": [f"{i:02d}" for i in range(6)],
            "kind": "volume",
            "strategy": "simple",
            "fd_mean": [0.1, 0.12, 0.11, 0.13, 0.09, 0.6],
            "tsnr_median": [60.0, 62.0, 58.0, 61.0, 59.0, 60.5],
            "fraction_kept": 1.0,
            "excluded": False,
        }
    )
    pages = {s: f"../../sub-{s}/figures/sub-{s}_desc-fmri_report.html" for s in qc["sub"]}
    runs = write_group_page(qc, 3.0, pages, tmp_path / "group.html")
    assert runs.loc[runs["outlier_fd"], "stem"].tolist() == ["sub-05_task-rest"]
    assert not runs["outlier_tsnr"].any()
    html = (tmp_path / "group.html").read_text()
    assert html.count("OUTLIER") == 1 and "Flagged: 1 run(s) of subject(s) 05" in html
    assert 'href="../../sub-05/figures/sub-05_desc-fmri_report.html"' in html
