"""Snakemake adapter: the Haxby 2001 demo files -> a small BIDS + fMRIPrep-like tree."""

from neuroflow.rsa.haxby_bids import haxby_to_bids
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    bold, mask, attributes = sm.input.images
    haxby_to_bids(
        bold,
        mask,
        attributes,
        sm.output.root,
        subject=sm.params.subject,
        task=sm.params.task,
        baseline=sm.params.baseline,
    )
