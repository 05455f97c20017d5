"""neuroflow: a declarative Snakemake pipeline for computational-neuroscience analyses."""

__version__ = "0.1.0"
