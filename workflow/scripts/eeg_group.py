"""Snakemake adapter: the EEG group table (one row per recording), group NetCDF and figures."""

from neuroflow.eeg.pipeline import group_outputs
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    group_outputs(
        sm.params.recordings,
        summaries=list(sm.input.summaries),
        features=list(sm.input.features),
        aperiodics=list(sm.input.aperiodics),
        connectivities=list(sm.input.connectivities),
        truths=dict(zip(sm.params.simulated, sm.input.truths)),
        out_table=sm.output.table,
        out_nc=sm.output.nc,
        fig_aperiodic=sm.output.fig_aperiodic,
        fig_psd=sm.output.fig_psd,
        fig_bandpower=sm.output.fig_bandpower,
    )
