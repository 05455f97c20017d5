"""Snakemake adapter: one subject's task fMRI (trsa.task): the run-wise first-level GLM of
every run, then the crossnobis RDM per atlas region across those runs."""

from neuroflow.rsa.taskfmri import task_subject_files

sm = snakemake
files = dict(sm.input.items())
files["labels"] = sm.input.labels if isinstance(sm.input.labels, str) else ""
task_subject_files(files, dict(sm.output.items()), dict(sm.log.items()), dict(sm.params.items()))
