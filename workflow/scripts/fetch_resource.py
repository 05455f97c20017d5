"""Snakemake adapter: fetch one manifest dataset (download, extract, verify sha256)."""
from neuroflow.resources import dest_root_of, fetch_dataset, load_manifest
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):  # noqa: F821
    p = snakemake.params  # noqa: F821
    manifest = load_manifest(p.manifest)
    dest = dest_root_of(manifest, p.dataset, snakemake.output[0])  # noqa: F821
    fetch_dataset(manifest, p.dataset, dest, cache_dir=p.cache or None)
