"""Snakemake adapter: coherence / PLV / wPLI per band of one subject (mne-connectivity)."""
from neuroflow.eeg.pipeline import connectivity_subject
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    connectivity_subject(sm.input.epochs, subject=sm.wildcards.sub,
                         simulated=sm.params.simulated, cfg=sm.params.features,
                         out_nc=sm.output.nc)
