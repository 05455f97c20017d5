"""Snakemake adapter: identification of regions / layers (noise curves, grid, claim tables)."""

from neuroflow.rsa.pipeline import IdentificationSettings, identification_files
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    p = sm.params
    trsa = {
        "statistics": list(p.statistics),
        "identification": dict(p.identification),
        "zero_edges": p.zero_edges,
        "random_state": p.random_state,
    }
    outputs = {
        key: sm.output[key]
        for key in (
            "noise",
            "grid",
            "families",
            "samples",
            "tests",
            "claims",
            "selection",
            "fig_noise",
            "fig_grid",
            "fig_families",
            "fig_claims",
        )
    }
    identification_files(sm.input.rdms, outputs, IdentificationSettings.from_config(trsa))
