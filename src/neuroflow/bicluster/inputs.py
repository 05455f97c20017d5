"""What the bi-clustering's rule file needs at parse time (cheap imports only): the
recordings the stage runs on, and numba's kernel cache (set before numba is imported)."""

from __future__ import annotations

import copy
import os
from pathlib import Path

from neuroflow.activity.inputs import spike_recordings
from neuroflow.bicluster.settings import stage_schema
from neuroflow.config import ConfigError, fill_defaults


def _recording_schema() -> dict:
    """The schema of one ``bicluster.recordings`` entry (a simulation)."""
    return stage_schema()["properties"]["recordings"]["additionalProperties"]


def use_numba_cache(config: dict) -> str:
    """Point numba's on-disk cache of the sampler's kernels at ``bicluster.numba_cache_dir``.

    The folder is made absolute (relative to the working directory) and goes into
    ``NUMBA_CACHE_DIR`` unless the environment already sets it, which wins. Called by the
    rule file (jobs inherit the environment) and by the recording script (jobs started
    elsewhere), before numba is imported, so the kernels are compiled once and loaded after.

    Returns
    -------
    str
        The cache folder in use.
    """
    folder = Path(config["bicluster"]["numba_cache_dir"]).resolve()
    return os.environ.setdefault("NUMBA_CACHE_DIR", str(folder))


def bicluster_recordings(config: dict, manifest: dict, root=".") -> dict[str, dict]:
    """Every recording the bi-clustering runs on: ``stem -> spec``.

    The activity stage's spike recordings (``activity.spikes`` and the BIDS route), when
    ``bicluster.from_activity`` and the activity stage is activated: ``{"activity": stem,
    "subdir", "stem", "min_rate", "source", "bin_width", "label"}``; and the simulations of
    ``bicluster.recordings``: ``{"simulate": {...}, "seed", "subdir", "stem"}``.

    Raises
    ------
    neuroflow.config.ConfigError
        A recording given by ``dataset``/``path`` (the activity stage reads files now), a
        simulation whose id is also an activity recording, or no recording at all.
    """
    bic = fill_defaults(copy.deepcopy(config["bicluster"]), stage_schema())
    act = config.get("activity") or {}
    out: dict[str, dict] = {}
    if bic["from_activity"] and act.get("activate"):
        for key, rec in spike_recordings(config, manifest, root).items():
            out[key] = {
                "activity": key,
                "subdir": rec["subdir"],
                "stem": key,
                "min_rate": float(bic["min_rate"]),
                "source": rec["source"],
                "bin_width": rec.get("bin_width"),
                "reader": rec["reader"],
                "label": rec["label"],
                "simulated": rec["simulated"],
            }
    for rid, spec in (bic.get("recordings") or {}).items():
        key = f"bicluster.recordings.{rid}"
        if spec is None:
            continue
        moved = [
            k
            for k in ("dataset", "path", "bin_width", "t_start", "t_stop", "angle_series", "min_rate")
            if k in spec
        ]
        if moved:
            raise ConfigError(
                f"config key {key}.{moved[0]}: the bi-clustering reads the activity stage's "
                f"counts now; move this recording to activity.spikes.{rid} (dataset or path, "
                "bin_width, t_start, t_stop, angle_series), activate the activity stage, and "
                "set bicluster.min_rate for the rate threshold"
            )
        if "simulate" not in spec:
            raise ConfigError(
                f"config key {key}: a bicluster recording is a simulation "
                "(simulate: {...}); recorded data comes from the activity stage"
            )
        stem_ = f"sub-{rid}"
        if stem_ in out:
            raise ConfigError(
                f"config key {key}: sub-{rid} is also an activity recording "
                f"({out[stem_]['source']}); rename the simulation"
            )
        entry = fill_defaults(copy.deepcopy(spec), _recording_schema())  # seed, simulate.*
        out[stem_] = {**entry, "subdir": stem_, "stem": stem_}
    if not out:
        raise ConfigError(
            "config key bicluster.activate: no recording to bi-cluster: activate "
            "the activity stage with activity.spikes or activity.bids (kind: "
            "units), or add a simulation to bicluster.recordings"
        )
    return out
