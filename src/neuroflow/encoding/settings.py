"""Settings of the encoding jobs: frozen dataclasses built once from the rule's params.

The params are the validated config with the schema's defaults filled in
(``workflow/schemas/encoding.schema.yaml``); nothing here restates a default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

#: Null modes (:mod:`neuroflow.encoding.permutation`).
MODES = ("refit_fixed", "refit", "predictions")


@dataclass(frozen=True)
class PermutationSettings:
    """Shuffled baseline (config ``permutation``)."""

    mode: str
    n: int
    min_shift_s: float


@dataclass(frozen=True)
class NoiseCeilingSettings:
    """Noise ceiling from conditions repeated across runs (config ``noise_ceiling``)."""

    enabled: bool
    delay_s: float | None = None  # None: not applicable (disabled)
    skip: tuple = ()  # (): nothing skipped (disabled)
    min_ceiling: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "skip", tuple(self.skip))  # a config list


@dataclass(frozen=True)
class RidgeSettings:
    """One ridge-family job (rule ``encoding_ridge_<id>`` or ``encoding_task_subject``)."""

    experiment: str
    lags_s: tuple
    model: str
    alphas: tuple
    n_folds: int | None
    n_inner_folds: int
    n_iter: int
    permutation: PermutationSettings
    noise_ceiling: NoiseCeilingSettings
    device: str
    backend: str
    n_targets_batch: int | None
    random_state: int
    threads: int

    @property
    def key(self) -> str:
        """Config key of the experiment (named in errors)."""
        return _key(self.experiment)

    @classmethod
    def from_params(cls, params: dict, threads: int) -> RidgeSettings:
        """From the rule's params (config values; 0 means 'all'/'leave one out'); params
        that are no setting (e.g. the workflow's ``neuroflow_code`` stamp) are left out."""
        p = _own(cls, params)
        perm = PermutationSettings(**dict(p.pop("permutation")))
        if perm.mode not in MODES:
            raise ValueError(
                f"config key {_key(p['experiment'])}.permutation.mode: expected "
                f"one of {MODES}, got {perm.mode!r}"
            )
        nc = dict(p.pop("noise_ceiling"))
        return cls(
            lags_s=tuple(p.pop("lags_s")),
            alphas=tuple(float(a) for a in p.pop("alphas")),
            n_folds=p.pop("n_folds") or None,
            n_targets_batch=p.pop("n_targets_batch") or None,
            permutation=perm,
            noise_ceiling=NoiseCeilingSettings(**nc),
            threads=threads,
            **p,
        )

    def record(self) -> dict:
        """Plain-JSON form (sidecars, NetCDF attributes)."""
        return {**asdict(self), "lags_s": list(self.lags_s), "alphas": list(self.alphas)}


def _own(cls, params) -> dict:
    """The params that are fields of ``cls`` (threads come from the job)."""
    names = {f.name for f in fields(cls)} - {"threads"}
    return {k: v for k, v in dict(params).items() if k in names}


def _key(experiment: str) -> str:
    return "encoding.task" if experiment == "task" else f"encoding.experiments.{experiment}"


@dataclass(frozen=True)
class NetworkSettings:
    """Architecture of the attention-routing encoder (config ``encoding.attention``)."""

    d_model: int
    n_heads: int
    dim_feedforward: int
    dropout: float
    n_layers: int
    temperature: float


@dataclass(frozen=True)
class TrainingSettings:
    """Optimisation of the attention-routing encoder (config ``encoding.attention``)."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    grad_clip: float
    lr_step: int
    validation_fraction: float


@dataclass(frozen=True)
class AttentionSettings:
    """The attention-vs-ridge job (rule ``encoding_fit_attention``)."""

    network: NetworkSettings
    training: TrainingSettings
    n_folds: int
    ridge_alphas: tuple
    ridge_inner_folds: int
    n_examples: int
    flat_entropy: float
    device: str
    backend: str
    random_state: int
    threads: int

    @classmethod
    def from_params(cls, params: dict, threads: int) -> AttentionSettings:
        """From the rule's params (other params, e.g. ``neuroflow_code``, left out)."""
        names = {f.name for cls_ in (NetworkSettings, TrainingSettings) for f in fields(cls_)}
        p = {k: v for k, v in dict(params).items() if k in names} | _own(cls, params)
        network = NetworkSettings(**{f.name: p.pop(f.name) for f in fields(NetworkSettings)})
        training = TrainingSettings(**{f.name: p.pop(f.name) for f in fields(TrainingSettings)})
        return cls(
            network=network,
            training=training,
            threads=threads,
            ridge_alphas=tuple(float(a) for a in p.pop("ridge_alphas")),
            **p,
        )

    def record(self) -> dict:
        """Plain-JSON form (sidecars, NetCDF attributes)."""
        out = asdict(self)
        out.update(out.pop("network"), **out.pop("training"))
        out["ridge_alphas"] = list(self.ridge_alphas)
        return out
