"""Snakemake adapter: fetch the files one manifest dataset owns (download, extract, verify)."""

from neuroflow.resources import fetch_dataset, load_manifest
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):  # noqa: F821
    p = snakemake.params  # noqa: F821
    fetch_dataset(
        load_manifest(p.manifest), p.dataset, p.dest, cache_dir=p.cache or None, only=list(snakemake.output)
    )  # noqa: F821
