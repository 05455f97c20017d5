"""Snakemake adapter: identification of regions / layers per statistic (noise, grid, families)."""
from neuroflow.rsa.pipeline import identification_files
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    p = sm.params
    outputs = {key: sm.output[key] for key in ("noise", "grid", "families", "samples", "tests",
                                               "fig_noise", "fig_grid", "fig_families")}
    identification_files(sm.input.rdms, outputs, statistics=list(p.statistics),
                         noise_levels=list(p.noise_levels), n_repeats=p.n_repeats,
                         grid_resolution=p.grid_resolution,
                         grid_noise_levels=list(p.grid_noise_levels),
                         family_samples=p.family_samples, n_boot=p.n_boot,
                         family_noise_level=p.family_noise_level,
                         zero_edges=p.zero_edges, random_state=p.random_state)
