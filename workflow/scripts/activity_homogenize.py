"""Snakemake adapter: read one activity recording and homogenize it (labels, step, scale)."""

from neuroflow.activity.pipeline import homogenize_recording_files
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    rec = sm.params.recording
    homogenize_recording_files(
        sm.input.files,
        recording_id=sm.wildcards.recording,
        reader=rec["reader"],
        reader_options=rec.get("reader_options", {}),
        cell_table=sm.input.cell_table,
        aliases=sm.input.aliases,
        exclude=sm.params.exclude,
        params=sm.params.homogenize,
        source=sm.params.source,
        label=rec.get("label", sm.wildcards.recording),
        citation=sm.params.citation,
        simulated=bool(rec.get("simulated")),
        out_nc=sm.output.nc,
        out_fig=sm.output.fig,
    )
