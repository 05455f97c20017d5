"""Bayesian bi-clustering of neural spike counts (Wei 2023, arXiv:2309.02213).

Neurons are clustered (spatially) by shared low-dimensional latent trajectories and time
bins (temporally) into states with shared linear dynamics, both non-parametrically, by a
blocked Gibbs sampler:

- :mod:`~neuroflow.bicluster.simulate`: seeded generator of the paper's model;
- :mod:`~neuroflow.bicluster.counts`: binned spike counts from NWB units tables;
- :mod:`~neuroflow.bicluster.sampler`: the MCMC (one chain);
- :mod:`~neuroflow.bicluster.summarize`: co-clustering, point estimates, state posterior,
  latent summaries and arviz diagnostics over chains;
- :mod:`~neuroflow.bicluster.pipeline`: the file-level functions the Snakemake rules call.
"""
