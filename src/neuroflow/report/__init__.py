"""Figures and methods text for the Snakemake report."""
