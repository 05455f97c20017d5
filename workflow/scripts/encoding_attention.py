"""Snakemake adapter: attention-routing encoder vs ridge on the same folds; routing maps."""

from neuroflow.encoding.pipeline import attention_files
from neuroflow.encoding.settings import AttentionSettings
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    settings = AttentionSettings.from_params(dict(sm.params.items()), threads=sm.threads)
    attention_files(
        sm.input.fmap, sm.output.nc, sm.output.tsv, sm.output.routing, sm.output.comparison, settings
    )
