"""Snakemake adapter: PSD (Welch, multitaper), band power and specparam fits of one recording."""
from neuroflow.eeg.pipeline import features_recording
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    features_recording(sm.input.epochs, recording=sm.wildcards.eegrec,
                       simulated=sm.params.simulated, cfg=sm.params.features,
                       out_nc=sm.output.nc, out_bandpower=sm.output.bandpower,
                       out_aperiodic=sm.output.aperiodic, out_peaks=sm.output.peaks)
