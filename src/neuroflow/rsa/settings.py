"""Settings of the tRSA rules, built once from the validated config (``config["trsa"]``,
the schema's defaults filled in), and the checks the schema cannot express."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from neuroflow.rsa.transforms import Statistic, statistic_from_config


def statistics_from_config(entries, where: str) -> list[Statistic]:
    """The :class:`Statistic` of every entry of a config list (``where`` names its key)."""
    if not entries:
        raise ValueError(f"config key {where}: at least one statistic is needed")
    return [statistic_from_config(e, f"{where}[{i}]") for i, e in enumerate(entries)]


@dataclass(frozen=True)
class IdentificationSettings:
    """Everything the identification rule needs, built once from the validated config."""

    statistics: tuple
    noise_levels: tuple
    n_repeats: int
    grid_resolution: float
    grid_noise_levels: tuple
    protocol: object  # neuroflow.rsa.claims.ProtocolSettings (imported when run)

    @classmethod
    def from_config(cls, trsa: dict) -> IdentificationSettings:
        """From ``config["trsa"]`` (statistics, identification, zero_edges, random_state)."""
        from neuroflow.rsa.claims import ProtocolSettings

        ident_cfg = trsa["identification"]
        return cls(
            statistics=tuple(statistics_from_config(trsa["statistics"], "trsa.statistics")),
            noise_levels=tuple(ident_cfg["noise_levels"]),
            n_repeats=ident_cfg["n_repeats"],
            grid_resolution=ident_cfg["grid_resolution"],
            grid_noise_levels=tuple(ident_cfg["grid_noise_levels"]),
            protocol=ProtocolSettings.from_config(trsa),
        )


@dataclass(frozen=True)
class GLMSettings:
    """The run-wise GLM of ``trsa.task`` (:func:`neuroflow.rsa.taskfmri.glm_run_files`)."""

    hrf_model: str
    high_pass: float  # Hz
    noise_model: str
    confounds_strategy: str  # nilearn load_confounds_strategy name, "fmri" or "none"
    confounds_options: dict

    @classmethod
    def from_config(cls, task: dict) -> GLMSettings:
        """From ``config["trsa"]["task"]`` or a rule's params of the same form."""
        return cls(
            hrf_model=task["hrf_model"],
            high_pass=task["high_pass"],
            noise_model=task["noise_model"],
            confounds_strategy=task["confounds"]["strategy"],
            confounds_options=dict(task["confounds"]["options"]),
        )


@dataclass(frozen=True)
class NetworkSettings:
    """The simulated network instances (``config["trsa"]["networks"]`` and the stage's
    ``random_state``; :func:`neuroflow.rsa.networks.simulate_network_rdms`)."""

    n_instances: int
    conv_channels: tuple
    fc_units: tuple
    epochs: int
    batch_size: int
    learning_rate: float
    stimuli_per_class: int
    rdm_method: str
    random_state: int

    def parameters(self) -> dict:
        """The settings as JSON-ready values (the ``parameters`` attribute of the RDMs)."""
        return {
            "n_instances": self.n_instances,
            "conv_channels": list(self.conv_channels),
            "fc_units": list(self.fc_units),
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "stimuli_per_class": self.stimuli_per_class,
            "rdm_method": self.rdm_method,
            "random_state": self.random_state,
        }


def check_trsa_config(config: dict, manifest: dict) -> None:
    """Checks the schema cannot express, run when the workflow is parsed (before any job).

    Raises ValueError naming the config key: unknown manifest datasets, statistics with
    ``lower > upper``, a missing ``identification.rdms`` file.
    """
    cfg = config["trsa"]
    if cfg["haxby"].get("activate"):
        ds = cfg["haxby"]["dataset"]
        if ds not in manifest["datasets"]:
            raise ValueError(
                f"config key trsa.haxby.dataset: {ds!r} is not in the manifest {manifest.get('_path', '')}"
            )
    hd = cfg["headdirection"]
    moved = {
        "dataset": "trsa.headdirection.recording (an activity.spikes id; the NWB file "
        "goes to activity.spikes.<id>.dataset or .path)",
        "subject": "the outputs take the activity recording's entities (sub-<id>)",
    }
    for old, where in moved.items():
        if hd.get(old) is not None:
            raise ValueError(
                f"config key trsa.headdirection.{old}: moved: {where}; the "
                "head-direction RDM reads the activity stage's units file now"
            )
    n_files = (
        len(manifest["datasets"][cfg["haxby"]["dataset"]]["files"]) if cfg["haxby"].get("activate") else 3
    )
    if n_files != 3:
        raise ValueError(
            f"config key trsa.haxby.dataset: needs 3 files (BOLD, mask, "
            f"attributes), {cfg['haxby']['dataset']!r} has {n_files}"
        )
    statistics_from_config(cfg["statistics"], "trsa.statistics")
    ident_cfg = cfg["identification"]  # (checked where given; the schema fills them)
    if "noise_models" in ident_cfg and "pooled" not in ident_cfg["noise_models"]:
        raise ValueError(
            "config key trsa.identification.noise_models: must include 'pooled' "
            "(the authors' protocol, the primary analysis)"
        )
    contrast = ident_cfg.get("contrast")
    if contrast is not None and contrast[0] == contrast[1]:
        raise ValueError(
            f"config key trsa.identification.contrast: two different families are needed, got {contrast}"
        )
    rdms = cfg["identification"].get("rdms")
    if rdms and not Path(rdms).is_file():
        raise ValueError(f"config key trsa.identification.rdms: file not found: {rdms}")
