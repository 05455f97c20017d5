"""Settings of the bi-clustering sampler, built from the validated config.

The defaults live in the stage schema only (workflow/schemas/bicluster.schema.yaml);
:func:`schema_defaults` and :func:`recording_defaults` read them for callers that start
from a partial mapping (library use, the bench, tests).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, fields

import yaml

from neuroflow.workflow_files import workflow_root


@functools.cache
def _schema() -> dict:
    path = workflow_root() / "workflow" / "schemas" / "bicluster.schema.yaml"
    return yaml.safe_load(path.read_text())


def stage_schema() -> dict:
    """The stage schema (workflow/schemas/bicluster.schema.yaml), parsed once."""
    return _schema()


def schema_defaults(section: str) -> dict:
    """The schema's defaults of ``bicluster.<section>`` (``sampler``, ``convergence``)."""
    props = _schema()["properties"][section]["properties"]
    return {key: spec["default"] for key, spec in props.items()}


def recording_defaults() -> dict:
    """The schema's defaults of one simulated recording: ``seed`` and ``simulate`` keys."""
    props = _schema()["properties"]["recordings"]["additionalProperties"]["properties"]
    return {
        "seed": props["seed"]["default"],
        "simulate": {k: v["default"] for k, v in props["simulate"]["properties"].items()},
    }


@dataclass(frozen=True)
class SamplerSettings:
    """Every tunable of the sampler; build it with :meth:`from_dict`, which fills what the
    mapping leaves out from the schema's defaults (``bicluster.sampler`` in
    workflow/schemas/bicluster.schema.yaml, the one place they are written).

    Attributes
    ----------
    n_iter, burn_in, thin : int
        Sweeps in total, sweeps discarded at the start, keep every ``thin``-th after.
    n_factors : int
        ``p``, latent factors per neuron cluster (plus one baseline row).
    likelihood : {"nb", "poisson"}
        ``"poisson"`` is approximated by NB with the fixed dispersion ``poisson_r``.
    max_clusters : int
        ``t_max``; 0 means ``n_neurons // 2`` (the paper's default).
    n_states_max : int
        ``L``, the weak-limit truncation of the HDP-HMM.
    mniw_k0, mniw_s0 : float
        MNIW prior of each state's dynamics: ``[A, b] | Q ~ MN([I, 0], Q, (k0 I)^-1)``,
        ``Q ~ IW(d + 2, s0 I)``. The paper uses ``k0 = 1``, ``s0 = 0.01``; with weakly
        observed latents these priors dominate (entries of ``A`` have prior sd
        ``sqrt(Q_ii / k0)`` = 0.1 around the identity, which makes a white-noise state look
        persistent, and ``IW(d + 2, 0.01 I)`` pulls ``Q`` several-fold below the
        simulation's 0.01 I); the defaults 0.01 and 0.1 are weaker in both respects.
    collapsed_states : bool
        Each sweep, update every ``s_t`` from its conditional with the latents integrated
        out (:func:`sample_states_collapsed`) before drawing the latents.
    uncollapsed_states : bool
        Each sweep, also draw the whole state path by FFBS given the sampled latents (the
        paper's move).
    candidate_latent : {"sample", "mean"}
        What stands for a candidate cluster's latent in a neuron's Laplace marginal (the
        neuron's own cluster always without the neuron's pseudo-observations): a draw from
        its per-bin posterior marginals, or their means. The means are shrunk towards zero
        the more, the fewer members a cluster has, which biases reassignment against small
        clusters (bench/bench_bicluster.py, notes).
    split_merge_every, split_merge_moves : int
        Every ``split_merge_every``-th sweep (0: never), ``split_merge_moves``
        sequentially-allocated split-merge proposals of the neuron labels with the cluster
        latents integrated out and the loadings ``c_i`` held fixed (:func:`split_merge_move`;
        the latents of the clusters involved are redrawn after an accepted move). Neal's
        algorithm 8 alone opens a cluster only when a latent drawn from the prior happens
        to fit a neuron, so two merged clusters practically never separate again; the move
        separates them. Run at every sweep it also splits and merges true clusters, so the
        schema default is every 20th sweep (the authors' code has the move, disabled;
        bench/bench_bicluster.py, notes).
    boundary_moves, boundary_max_shift : int
        After the collapsed state update, ``boundary_moves`` Metropolis-Hastings moves of a
        random state boundary by up to ``boundary_max_shift`` bins either way, latents
        integrated out (:func:`.states.sample_boundary_shifts`; 0: none). The single-site
        update moves a boundary through every bin in between, so where an intermediate
        place has little posterior mass a boundary stays on one side for hundreds of sweeps.
    collapsed_dynamics : bool
        After the collapsed state update, Metropolis-Hastings scale moves of every used
        state's ``A_s`` and ``Q_s`` with the latents integrated out
        (:func:`sample_dynamics_collapsed`, proposal sd ``dynamics_mh_sd`` on the log scale).
    frame_moves : int
        Rounds per sweep after the warm-up (0: none, the default) of Metropolis-Hastings
        moves along each cluster's unidentified frame (:func:`frame_proposal`): the factor
        scales ``X_j -> e^u_j X_j``, ``c_ij -> c_ij e^-u_j`` and the shear ``mu -> mu + v .
        X``, ``c_i -> c_i - v``, with the state dynamics carried along; the likelihood is
        unchanged, so only the priors decide. Gibbs updates of ``c | x`` and ``x | c`` move
        along these directions in tiny steps; the moves speed up the loading scale, not the
        rate sd, whose slow direction is the state dynamics ``A_s`` with the latents
        (bench/bench_bicluster.py, notes). Off by default: in short chains a free latent
        scale let neuron reassignment (its Laplace marginal integrates ``c_i`` against the
        current latent) merge two true clusters. ``frame_move_sd`` is the proposal sd of
        ``u_j``, ``v_j``.
    """

    n_iter: int
    burn_in: int
    thin: int
    n_factors: int
    likelihood: str
    poisson_r: float
    max_clusters: int
    mfm_gamma: float
    mfm_geometric_p: float
    n_states_max: int
    hdp_alpha: float
    hdp_gamma: float
    hdp_kappa: float
    delta_prior_sd: float
    loading_prior_sd: float
    dispersion_a0: float
    dispersion_rate: float
    mniw_k0: float
    mniw_s0: float
    new_cluster_q: float
    aux_ar_coef: float
    aux_ar_var: float
    spline_every: int
    init_clusters: int
    state_warmup: int
    init_states: int
    init_window: int
    collapsed_states: bool
    uncollapsed_states: bool
    boundary_moves: int
    boundary_max_shift: int
    collapsed_dynamics: bool
    dynamics_mh_sd: float
    dispersion_mh_steps: int
    split_merge_every: int
    candidate_latent: str
    split_merge_moves: int
    frame_moves: int
    frame_move_sd: float

    @classmethod
    def from_dict(cls, params: dict | None = None, where: str = "bicluster.sampler") -> SamplerSettings:
        """Build from a config mapping, the schema's defaults filling absent keys; unknown
        keys or bad values raise ValueError naming them."""
        params = dict(params or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise ValueError(f"config {where}: unknown key(s) {unknown}; known: {sorted(names)}")
        out = cls(**{**schema_defaults("sampler"), **params})
        out.check(where)
        return out

    def replace(self, **changes) -> SamplerSettings:
        """A copy with ``changes`` (checked)."""
        return SamplerSettings.from_dict({**self.as_dict(), **changes})

    def check(self, where: str = "bicluster.sampler") -> None:  # noqa: C901 (one check per key)
        """Raise ValueError naming the key of the first invalid setting."""

        def bad(key, why):
            raise ValueError(f"config {where}.{key}: {why} (got {getattr(self, key)!r})")

        if self.n_iter < 1:
            bad("n_iter", "must be >= 1")
        if not 0 <= self.burn_in < self.n_iter:
            bad("burn_in", "must be in [0, n_iter)")
        if self.thin < 1:
            bad("thin", "must be >= 1")
        if self.n_factors < 1:
            bad("n_factors", "must be >= 1")
        if self.likelihood not in ("nb", "poisson"):
            bad("likelihood", "must be 'nb' or 'poisson'")
        if self.candidate_latent not in ("sample", "mean"):
            bad("candidate_latent", "must be 'sample' or 'mean'")
        if self.n_states_max < 1:
            bad("n_states_max", "must be >= 1")
        if not 0 < self.mfm_geometric_p < 1:
            bad("mfm_geometric_p", "must be in (0, 1)")
        for key in (
            "poisson_r",
            "dynamics_mh_sd",
            "frame_move_sd",
            "mfm_gamma",
            "hdp_alpha",
            "hdp_gamma",
            "delta_prior_sd",
            "loading_prior_sd",
            "dispersion_a0",
            "dispersion_rate",
            "mniw_k0",
            "mniw_s0",
            "new_cluster_q",
            "aux_ar_var",
        ):
            if not getattr(self, key) > 0:
                bad(key, "must be > 0")
        if self.hdp_kappa < 0:
            bad("hdp_kappa", "must be >= 0")
        if self.init_clusters < 1:
            bad("init_clusters", "must be >= 1")
        if self.state_warmup < 0:
            bad("state_warmup", "must be >= 0")
        if not 1 <= self.init_states <= self.n_states_max:
            bad("init_states", "must be in [1, n_states_max]")
        if self.init_window < 1:
            bad("init_window", "must be >= 1")
        if self.dispersion_mh_steps < 0:
            bad("dispersion_mh_steps", "must be >= 0")
        if self.frame_moves < 0:
            bad("frame_moves", "must be >= 0")
        for key in ("split_merge_every", "split_merge_moves", "boundary_moves"):
            if getattr(self, key) < 0:
                bad(key, "must be >= 0")
        if self.boundary_max_shift < 1:
            bad("boundary_max_shift", "must be >= 1")

    def as_dict(self) -> dict:
        return asdict(self)
