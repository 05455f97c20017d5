"""Encoding models: stimulus features -> brain responses (issue 9).

Two families of models share one data layout (a *design*: features and responses on a
common time axis, with the runs and cross-validation blocks they belong to):

* banded ridge / kernel ridge with himalaya (:mod:`neuroflow.encoding.ridge`), with nested
  cross-validation of the regularisation per target, correlation and R^2 per target,
  noise-ceiling normalisation where repeats exist and permutation significance;
* an attention-routing transformer encoder after Adeli, Sun & Kriegeskorte (2025)
  (:mod:`neuroflow.encoding.attention`): learned per-region queries attend over the
  spatial tokens of a frozen feature map.

Feature extractors (:mod:`neuroflow.encoding.features`), dataset readers
(:mod:`neuroflow.encoding.data`) and device handling (:mod:`neuroflow.encoding.device`:
CPU or CUDA, chosen once, recorded next to every output) are shared by both.
"""
