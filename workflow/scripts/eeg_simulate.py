"""Snakemake adapter: simulate one subject of the seeded EEG cohort (with ground truth)."""

from neuroflow.eeg.pipeline import simulate_to_files
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    sim = sm.params.simulate
    simulate_to_files(
        int(sm.wildcards.sim[len(sm.params.prefix) :]),
        sm.output.raw,
        sm.output.blink,
        sm.output.sidecar,
        sm.output.truth,
        task=sm.params.task,
        seed=sim["seed"],
        exponent_range=sim["exponent_range"],
        alpha_range=sim["alpha_range"],
        sfreq=sim["sfreq"],
        duration=sim["duration"],
        montage=sim["montage"],
        alpha_ratio=sim["alpha_ratio"],
        blink_amplitude=sim["blink_amplitude"] * 1e-6,
        line_freq=sim["line_freq"],
        grid_spacing=sim["grid_spacing"],
    )
