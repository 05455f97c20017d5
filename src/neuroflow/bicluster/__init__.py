"""Bayesian bi-clustering of neural spike counts (Wei 2023, arXiv:2309.02213).

Neurons are clustered (spatially) by shared low-dimensional latent trajectories and time
bins (temporally) into states with shared linear dynamics, both non-parametrically, by a
blocked Gibbs sampler:

- :mod:`~neuroflow.bicluster.inputs`: the recordings the rule file runs on (cheap);
- :mod:`~neuroflow.bicluster.settings`: sampler settings, defaults from the stage schema;
- :mod:`~neuroflow.bicluster.simulate`: seeded generator of the paper's model;
- :mod:`~neuroflow.bicluster.counts`: the activity stage's counts laid out for the sampler;
- :mod:`~neuroflow.bicluster.sampler`: one chain (:func:`~.sampler.run_chain`); the steps
  of a sweep live in :mod:`.chain` (the chain's state and step order), :mod:`.neurons`
  (baselines, loadings, dispersions, Laplace marginals), :mod:`.latent` (Kalman filter,
  smoother, FFBS), :mod:`.states` (sticky HDP-HMM), :mod:`.dynamics` (MNIW and
  Metropolis-Hastings moves, frame changes), :mod:`.assign` (neuron reassignment),
  :mod:`.splitmerge`, with compiled loops in :mod:`._kernels` and :mod:`._linalg`;
- :mod:`~neuroflow.bicluster.summarize`, :mod:`~neuroflow.bicluster.posterior`:
  co-clustering, point estimates, state posterior, latent summaries, arviz diagnostics
  and the convergence verdict over chains;
- :mod:`~neuroflow.bicluster.pipeline`: the file-level functions the Snakemake rules call,
  with :mod:`.outputs` (the chain and posterior datasets, sidecars), :mod:`.columns`
  (variables and score tables), :mod:`.validation` (scores against epochs and regions)
  and :mod:`.figures`.
"""
