"""One job per fMRI run or subject: the step functions of :mod:`neuroflow.fmri.pipeline`.

confound regressors (each strategy) -> raw region time series (each atlas) -> denoised
region time series (each atlas x strategy) -> QC of the run (table, carpet, panels). Each
step writes the same files, with the same contents, as it does on its own; only the number
of Snakemake jobs changes (planning a 1,000-subject cohort costs time per job). The rules
that call them come from :func:`neuroflow.fmri.inputs.subject_groups` (one job per subject:
:func:`process_subject`, which also writes the subject's QC page) or, for cohorts with many
run layouts, :func:`neuroflow.fmri.inputs.run_groups` (one job per run: :func:`process_run`).
"""

from __future__ import annotations

from dataclasses import dataclass

from neuroflow.fmri.pipeline import run_confounds, run_denoise, run_parcellate, run_qc
from neuroflow.fmri.qc import QCSettings
from neuroflow.fmri.report import write_subject_page


@dataclass(frozen=True)
class RunSettings:
    """Settings of the per-run steps (``fmri`` section of the validated config).

    Attributes
    ----------
    min_fraction_kept, min_minutes_kept : float
        Minimum-data rule of the confound step (fraction of volumes, minutes).
    qc : QCSettings
        QC settings; its ``t_r_tolerance`` (s) is also that of every other step.
    """

    min_fraction_kept: float
    min_minutes_kept: float
    qc: QCSettings

    @classmethod
    def from_config(cls, fmri: dict) -> RunSettings:
        """From the validated ``config["fmri"]`` (schema defaults filled in)."""
        return cls(
            float(fmri["min_fraction_kept"]), float(fmri["min_minutes_kept"]), QCSettings.from_config(fmri)
        )


@dataclass(frozen=True)
class RunOutputs:
    """The files of one run's job.

    Attributes
    ----------
    regressors : dict
        Strategy name -> ``*_desc-<strategy>_regressors.tsv``.
    raw : dict
        Atlas name -> ``*_atlas-<atlas>_desc-raw_timeseries.tsv``.
    denoised : dict
        ``(atlas, strategy)`` -> ``*_atlas-<atlas>_desc-<strategy>_timeseries.tsv``.
    qc, carpet, panels : str
        QC table, carpet plot and QC panels of the run.
    """

    regressors: dict
    raw: dict
    denoised: dict
    qc: str
    carpet: str
    panels: str

    @classmethod
    def from_lists(cls, atlases, strategies, regressors, raw, denoised, qc, carpet, panels):
        """From output lists in the rule's order: ``regressors`` by strategy, ``raw`` by atlas,
        ``denoised`` by atlas, then strategy (as :func:`neuroflow.fmri.inputs.run_outputs`)."""
        atlases, strategies = list(atlases), list(strategies)
        pairs = [(a, s) for a in atlases for s in strategies]
        for what, names, files in (
            ("regressors", strategies, regressors),
            ("raw", atlases, raw),
            ("denoised", pairs, denoised),
        ):
            if len(names) != len(files):
                raise ValueError(f"{what}: {len(files)} files for {len(names)} names {names}")
        return cls(
            dict(zip(strategies, regressors)),
            dict(zip(atlases, raw)),
            dict(zip(pairs, denoised)),
            str(qc),
            str(carpet),
            str(panels),
        )


def process_run(
    row: dict, strategies: dict, atlases: dict, settings: RunSettings, outputs: RunOutputs
) -> None:
    """Run every step of one run (``row``: its run index row).

    ``strategies`` and ``atlases`` map names to their filled config entries (as
    :func:`neuroflow.fmri.pipeline.strategy_params` and ``fmri.atlases`` give them); the
    names are those of ``outputs``.
    """
    tol = settings.qc.t_r_tolerance
    for name, strategy in strategies.items():
        run_confounds(
            row,
            name,
            strategy,
            settings.min_fraction_kept,
            settings.min_minutes_kept,
            out_tsv=outputs.regressors[name],
            t_r_tolerance=tol,
        )
    for name, atlas in atlases.items():
        run_parcellate(row, name, atlas, out_tsv=outputs.raw[name], t_r_tolerance=tol)
    for (atlas, name), out_tsv in outputs.denoised.items():
        run_denoise(outputs.raw[atlas], outputs.regressors[name], name, strategies[name], out_tsv=out_tsv)
    raw = outputs.raw[row["atlas"]] if row["kind"] == "timeseries" else ""
    run_qc(
        row,
        strategies,
        outputs.regressors,
        settings.qc,
        out_tsv=outputs.qc,
        out_png=outputs.carpet,
        out_figure=outputs.panels,
        raw_tsv=raw,
    )


def split_outputs(layout, regressors, raw, denoised, qc, carpet, panels) -> list[RunOutputs]:
    """A subject job's output lists cut into one :class:`RunOutputs` per run.

    ``layout``: per run, its ``(atlases, strategies)``; the lists run over the runs in that
    order, each run's part ordered as :meth:`RunOutputs.from_lists` reads it.
    """
    runs, at = [], {"s": 0, "a": 0, "d": 0}
    for n, (atlases, strategies) in enumerate(layout):
        n_s, n_a = len(strategies), len(atlases)
        runs.append(
            RunOutputs.from_lists(
                atlases,
                strategies,
                regressors[at["s"] : at["s"] + n_s],
                raw[at["a"] : at["a"] + n_a],
                denoised[at["d"] : at["d"] + n_a * n_s],
                qc[n],
                carpet[n],
                panels[n],
            )
        )
        at = {"s": at["s"] + n_s, "a": at["a"] + n_a, "d": at["d"] + n_a * n_s}
    used = (at["s"], at["a"], at["d"], len(layout))
    if used != (len(regressors), len(raw), len(denoised), len(qc)):
        raise ValueError(
            f"the layout of {len(layout)} runs uses {used} of the files "
            f"{(len(regressors), len(raw), len(denoised), len(qc))}"
        )
    return runs


def process_subject(
    subject: str,
    rows: list,
    strategies: dict,
    atlases: dict,
    settings: RunSettings,
    runs: list[RunOutputs],
    sidecars: dict,
    out_html,
) -> None:
    """Every run of one subject (:func:`process_run`, ``rows`` in stem order, ``runs`` their
    outputs), then the subject's QC page.

    ``strategies`` and ``atlases`` hold those of every run (each run takes its own, the
    names in its outputs); ``sidecars`` has the lists ``regressors`` and ``raw`` of the
    runs' regressor and raw time series JSON sidecars (the page reads them).
    """
    for row, out in zip(rows, runs, strict=True):
        process_run(
            row, {k: strategies[k] for k in out.regressors}, {k: atlases[k] for k in out.raw}, settings, out
        )
    write_subject_page(
        subject,
        [r.qc for r in runs],
        [r.carpet for r in runs],
        [r.panels for r in runs],
        sidecars["regressors"],
        sidecars["raw"],
        out_html=out_html,
    )
