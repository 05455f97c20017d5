"""The EEG page's own figures: drop log, ICA scores, steps, and PNG embedding at whole pixels."""

import base64
import re
import struct

import numpy as np
import pandas as pd

from neuroflow.eeg import report as R


def _log():
    return pd.DataFrame(
        {
            "onset": [0.0, 2.0, 4.0, 6.0, 8.0],
            "max_peak_to_peak_uV": [40.0, 210.0, 55.0, 180.0, 60.0],
            "kept": [True, False, True, False, True],
            "drop_reason": ["n/a", "peak_to_peak:Fp1", "n/a", "peak_to_peak:Fp1", "n/a"],
        }
    )


def test_drop_log_plots_kept_and_dropped_epochs_and_the_threshold():
    import matplotlib.pyplot as plt

    fig = R.plot_drop_log(_log(), 150.0, False, "sub-01")
    ax, bar = fig.axes
    kept, dropped = (c.get_offsets() for c in ax.collections)
    assert np.asarray(kept)[:, 1].tolist() == [40.0, 55.0, 60.0]
    assert np.asarray(dropped)[:, 1].tolist() == [210.0, 180.0]
    assert [line.get_ydata()[0] for line in ax.lines] == [150.0]
    assert [p.get_width() for p in bar.patches] == [2]  # one reason, two epochs
    assert "3 of 5 epochs kept" in ax.get_title()
    plt.close(fig)


def test_rejection_threshold_is_read_from_the_epochs_step():
    steps = [
        {"step": "filter", "l_freq": 1.0},
        {"step": "epochs", "reject": {"activate": True, "peak_to_peak": 120.0}},
    ]
    assert R._reject_threshold(steps) == 120.0
    assert R._reject_threshold([{"step": "epochs", "reject": None}]) is None


def test_ica_scores_mark_the_removed_components():
    import matplotlib.pyplot as plt

    comps = pd.DataFrame(
        {
            "component": ["ICA000", "ICA001", "ICA002"],
            "explained_variance": [0.5, 0.3, 0.2],
            "eog_score": [0.9, 0.1, -0.3],
            "ecg_score": [np.nan] * 3,
            "excluded": [True, False, False],
        }
    )
    fig = R.plot_ica_scores(comps, False, "sub-01")
    assert len(fig.axes) == 2  # variance and EOG (no ECG score: no panel)
    heights = [p.get_height() for p in fig.axes[1].patches]
    red = [p.get_facecolor()[0] > 0.8 and p.get_facecolor()[1] < 0.3 for p in fig.axes[1].patches]
    assert heights == [0.9, 0.1, -0.3] and red == [True, False, False]
    plt.close(fig)


def test_report_figure_is_embedded_with_its_png_size_declared(tmp_path):
    import matplotlib.pyplot as plt
    import mne

    rep = mne.Report(title="t", verbose="error")
    fig = plt.figure(figsize=(2.4 * 3, 2.3 * 2))  # 7.199999999999999 in: the shear case
    width, height = R.add_report_figure(rep, fig, title="fig", section="s")
    plt.close(fig)
    rep.save(tmp_path / "r.html", open_browser=False, overwrite=True, verbose="error")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    m = re.search(r'alt="fig" src="data:image/png;base64,([^"]+)" width="(\d+)" height="(\d+)"', html)
    assert m, "figure not embedded with a declared size"
    png = base64.b64decode(m.group(1))
    assert struct.unpack(">II", png[16:24]) == (width, height) == (int(m.group(2)), int(m.group(3)))
    assert (width, height) == (725, 450)  # whole quarter inches at 100 dpi
