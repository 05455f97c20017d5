"""Snakemake adapter: coherence / PLV / wPLI per band of one recording (mne-connectivity)."""
from neuroflow.eeg.pipeline import connectivity_recording
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    connectivity_recording(sm.input.epochs, recording=sm.wildcards.eegrec,
                           simulated=sm.params.simulated, cfg=sm.params.features,
                           out_nc=sm.output.nc)
