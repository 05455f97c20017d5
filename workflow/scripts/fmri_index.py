"""Snakemake adapter: build the fMRI run index once (sample sheet + derivatives scan)."""
from neuroflow.fmri.pipeline import write_index
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    scan = sm.params.scan
    write_index(
        sm.output.tsv,
        sample_sheet=sm.input.sample_sheet if sm.input.sample_sheet else "",
        derivatives_dirs=sm.params.derivatives_dirs,
        tasks=scan.get("tasks", []),
        spaces=scan.get("spaces", []),
        desc=scan.get("desc", "preproc"),
        resources_dest=sm.params.resources_dest,
        strategies=sm.params.strategies,
        atlases=sm.params.atlases,
        scan_strategies=scan.get("strategies", []),
        participants=sm.params.participants,
    )
