"""Snakemake adapter: fetch one manifest dataset (download, extract, verify sha256)."""
from neuroflow.rulelog import redirect_to_log
from neuroflow.resources import fetch_dataset, load_manifest

with redirect_to_log(snakemake.log[0]):  # noqa: F821
    p = snakemake.params  # noqa: F821
    fetch_dataset(load_manifest(p.manifest), p.dataset, p.dest, cache_dir=p.cache or None)
