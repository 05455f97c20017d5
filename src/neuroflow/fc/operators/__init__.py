"""The functional-connectivity operator bank.

Every operator maps a batch of samples (region x time windows) to one matrix per sample::

    fc = bank["corr_ledoitwolf"](X, t_r)      # X: (n_samples, n_regions, n_times)
    fc.shape == (n_samples, n_regions, n_regions)

and declares whether it is **directed** (``fc[source, target]``: the influence of the row
region on the column region; ``fc[i, j] != fc[j, i]`` in general) and **signed** (negative
values carry meaning). Undirected operators return symmetric matrices. The diagonal is
whatever the underlying estimator gives (variances, 1, 0, ...) and is never used by the
benchmark. Each operator names the pyspi 2.0.2 SPI computing the same quantity, if any
(``Operator.pyspi``; ``bench/bench_fc.py`` compares values and speed).

Families (one workflow job each; every operator vectorised over all region pairs of a
batch of windows and checked against a reference library or a closed form in
``tests/test_fc_operators*.py``):

* ``covariance`` (:mod:`.covariance`) - covariance, correlation, precision and partial
  correlation (and squared covariance / precision) from the scikit-learn estimators
  EmpiricalCovariance, LedoitWolf, OAS and ShrunkCovariance, batched; nilearn tangent space;
  scikit-learn GraphicalLasso.
* ``rank``, ``information`` (:mod:`.information`) - Spearman, Kendall tau-b, Gaussian and
  Gaussian-copula mutual information, distance correlation (biased, unbiased) and HSIC as
  Gram matrices over time pairs.
* ``lagged`` (:mod:`.lagged`) - lagged correlations, pyspi's mean cross-correlation,
  Gaussian time-lagged mutual information.
* ``spectral`` (:mod:`.spectral`) - DPSS multitaper coherence, imaginary coherence, PLV,
  PLI, wPLI, PPC, debiased wPLI^2, phase slope index, per-frequency maxima, per band.
* ``hilbert`` (:mod:`.hilbert`) - analytic-signal PLV / PLI / wPLI and amplitude-envelope
  correlation (plain, orthogonalised), per band.
* ``autoregressive`` (:mod:`.autoregressive`) - VAR coefficients, conditional and pairwise
  Granger causality, and DTF / PDC / spectral Granger causality of the pairs' VAR per band.
* ``distance`` (:mod:`.distance`) - pairwise distances, DTW, LCSS.
* ``causal`` (:mod:`.causal`) - IGCI, RECI, convergent cross-mapping.

Bands: the configured ones in Hz (``fc.operator_params.bands``) and the three of
:data:`RELATIVE_BANDS` (fractions of the sampling rate).
"""

from ._base import Operator, gaussian_mi
from .autoregressive import conditional_granger, pairwise_granger, var_fit
from .bank import (
    FAMILIES,
    RELATIVE_BANDS,
    compute_operators,
    operator_bank,
    operator_params,
    select_operators,
)
from .information import distance_correlation, hsic, kendall, spearman
from .lagged import lagged_correlation
from .spectral import multitaper_spectra, spectral_measures

__all__ = [
    "FAMILIES",
    "RELATIVE_BANDS",
    "Operator",
    "compute_operators",
    "conditional_granger",
    "distance_correlation",
    "gaussian_mi",
    "hsic",
    "kendall",
    "lagged_correlation",
    "multitaper_spectra",
    "operator_bank",
    "operator_params",
    "pairwise_granger",
    "select_operators",
    "spearman",
    "spectral_measures",
    "var_fit",
]
