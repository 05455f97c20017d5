"""ICA of the EEG stage: fit, artifact-component labelling (EOG / ECG correlation,
ICLabel) and removal, as the ``eeg.preprocessing.ica`` config says."""

from __future__ import annotations

import mne
import numpy as np
import pandas as pd


def fit_ica(
    raw,
    method: str = "infomax",
    n_components=15,
    max_iter: int = 500,
    random_state: int = 97,
    extended: bool = False,
    rank_loss: int = 0,
):
    """Fit ICA on the EEG channels of (high-passed) `raw`.

    An integer `n_components` is capped at the data rank (EEG channels minus `rank_loss`,
    the dimensions lost to interpolation and average referencing); a float keeps the PCA
    components explaining that fraction of the variance; None keeps 99.9999 %.
    """
    if isinstance(n_components, int):
        n_eeg = len(mne.pick_types(raw.info, eeg=True))
        n_components = max(1, min(n_components, n_eeg - rank_loss))

    fit_params = {"extended": True} if (method == "infomax" and extended) else None
    ica = mne.preprocessing.ICA(
        n_components=n_components,
        method=method,
        max_iter=max_iter,
        random_state=random_state,
        fit_params=fit_params,
        verbose="error",
    )
    ica.fit(raw, picks="eeg", verbose="error")
    return ica


def label_components(
    ica,
    raw,
    labeling=("eog", "ecg"),
    eog_proxies=(),
    eog_measure="correlation",
    eog_threshold=0.6,
    eog_max_components=2,
    iclabel_threshold=0.8,
    iclabel_exclude=(),
) -> pd.DataFrame:
    """Score ICA components against artifact references and choose those to exclude.

    eog : correlation with the EOG channels, or, where the recording has none, with the
        frontal channels in `eog_proxies` (both low-passed 1-10 Hz by MNE); a component is
        excluded when the absolute correlation (or z-score, ``eog_measure``) exceeds
        `eog_threshold` for any reference; at most the `eog_max_components` highest-scoring
        ones (frontal proxies also pick up frontal brain activity).
    ecg : MNE's correlation method against an ECG channel, when one exists.
    iclabel : mne-icalabel's ICLabel network; components whose most probable class is in
        `iclabel_exclude` with probability >= `iclabel_threshold` are excluded.

    Returns
    -------
    DataFrame
        One row per component: ``component``, ``explained_variance``, ``eog_score``,
        ``eog_reference``, ``ecg_score``, ``iclabel``, ``iclabel_probability``,
        ``excluded``, ``reason``. Sets ``ica.exclude``.
    """
    n = ica.n_components_
    table = pd.DataFrame({"component": [f"ICA{i:03d}" for i in range(n)]})
    table["explained_variance"] = _per_component_variance(ica, raw)
    reasons = [[] for _ in range(n)]
    table["eog_score"], table["eog_reference"] = np.nan, "n/a"
    table["ecg_score"], table["iclabel"], table["iclabel_probability"] = np.nan, "n/a", np.nan
    if "eog" in labeling:
        eog = [raw.ch_names[i] for i in mne.pick_types(raw.info, eeg=False, eog=True)]
        refs = eog or [c for c in eog_proxies if c in raw.ch_names]
        if refs:
            _, scores = ica.find_bads_eog(
                raw, ch_name=refs, threshold=eog_threshold, measure=eog_measure, verbose="error"
            )
            scores = np.atleast_2d(scores)
            best = np.argmax(np.abs(scores), axis=0)
            table["eog_score"] = scores[best, np.arange(n)]
            table["eog_reference"] = [("" if eog else "proxy ") + refs[b] for b in best]
            score = np.abs(table["eog_score"].to_numpy())
            over = np.flatnonzero(score > eog_threshold)
            for i in over[np.argsort(-score[over], kind="stable")][:eog_max_components]:
                reasons[i].append("eog")
    if "ecg" in labeling and len(mne.pick_types(raw.info, eeg=False, ecg=True)):
        bads, scores = ica.find_bads_ecg(raw, method="correlation", threshold="auto", verbose="error")
        table["ecg_score"] = np.asarray(scores, float)
        for i in bads:
            reasons[i].append("ecg")
    if "iclabel" in labeling:
        from mne_icalabel import label_components as iclabel

        out = iclabel(raw, ica, method="iclabel")
        table["iclabel"] = out["labels"]
        table["iclabel_probability"] = np.asarray(out["y_pred_proba"], float)
        for i, (lab, p) in enumerate(zip(out["labels"], out["y_pred_proba"])):
            if lab in iclabel_exclude and p >= iclabel_threshold:
                reasons[i].append("iclabel:" + lab.replace(" ", "_"))
    table["excluded"] = [bool(r) for r in reasons]
    table["reason"] = ["+".join(r) or "n/a" for r in reasons]
    ica.exclude = [int(i) for i in np.flatnonzero(table["excluded"].to_numpy())]
    return table


def _per_component_variance(ica, raw) -> np.ndarray:
    """Each component's :meth:`mne.preprocessing.ICA.get_explained_variance_ratio` on the
    EEG channels, from one unmixing of the data instead of one back-projection per component
    (the same formula: 1 - mean over time of the across-channel variance of the residual,
    over that of the data). ICA with a noise covariance or SSP projectors goes through MNE."""
    if ica.noise_cov is not None or ica.info["projs"]:
        return np.array(
            [
                float(ica.get_explained_variance_ratio(raw, components=[i], ch_type="eeg")["eeg"])
                for i in range(ica.n_components_)
            ]
        )
    eeg = mne.pick_types(raw.info, eeg=True, exclude=())
    orig = raw.get_data(picks=eeg)
    rows = [int(np.flatnonzero(eeg == raw.ch_names.index(c))[0]) for c in ica.ch_names]
    scale = ica.pre_whitener_[:, 0]
    centred = orig[rows] / scale[:, None] - ica.pca_mean_[:, None]
    pca = ica.pca_components_[: ica.n_components_]
    sources = ica.unmixing_matrix_ @ pca @ centred  # (n_components, n_times)
    mixing = (pca.T @ ica.mixing_matrix_) * scale[:, None]  # back to volts, (n_fit, n_comp)
    residual = np.zeros_like(orig)  # channels outside the ICA are left as they were
    base = orig[rows] - ica.pca_mean_[:, None] * scale[:, None]
    total = orig.var(axis=0).mean()
    out = np.empty(ica.n_components_)
    for i in range(ica.n_components_):
        residual[rows] = base - np.outer(mixing[:, i], sources[i])
        out[i] = 1.0 - residual.var(axis=0).mean() / total
    return out


def ica_step(raw, cfg: dict, channels: pd.DataFrame, steps: list):
    """Fit ICA, label the artifact components and remove them from ``raw`` in place."""
    c = cfg["ica"]
    if "iclabel" in c["labeling"] and not (c["method"] == "infomax" and c["extended"]):
        raise ValueError(
            "config key eeg.preprocessing.ica.labeling: ICLabel was trained on "
            "extended-infomax decompositions; set method: infomax, extended: true"
        )
    rank_loss = int(channels["interpolated"].sum()) + int(
        cfg["reference"]["activate"] and cfg["reference"]["kind"] in ("average", "rest")
    )
    ica = fit_ica(
        raw,
        c["method"],
        c["n_components"],
        c["max_iter"],
        c["random_state"],
        extended=c["extended"],
        rank_loss=rank_loss,
    )
    components = label_components(
        ica,
        raw,
        c["labeling"],
        c["eog_proxies"],
        c["eog_measure"],
        c["eog_threshold"],
        c["eog_max_components"],
        c["iclabel_threshold"],
        c["iclabel_exclude"],
    )
    ica.apply(raw, verbose="error")
    steps.append(
        {
            "step": "ica",
            "method": c["method"],
            "n_components": int(ica.n_components_),
            "labeling": c["labeling"],
            "excluded": [int(i) for i in ica.exclude],
        }
    )
    return ica, components
