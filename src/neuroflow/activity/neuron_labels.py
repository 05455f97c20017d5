"""Activity neuron labels on the canonical neuron list shared with the connectomes.

:func:`map_neuron_labels` maps a recording's raw labels through the connectomes'
:class:`neuroflow.io.celegans_labels.LabelMap` (labels with ``?`` stay unlabelled unless
``ambiguous: resolve``), :func:`assign_slots` gives each neuron its position in the
canonical list (a seeded random free slot for unlabelled ones, never to be interpreted)
and :func:`to_canonical` lays a homogenized recording out on that list.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr

AMBIGUOUS = ("unlabelled", "resolve")
SLOT_MODES = ("random", "none")
STATUSES = ("canonical", "ambiguous_resolved", "ambiguous", "duplicate", "not_a_neuron", "unknown", "none")


def map_neuron_labels(raw_labels, label_map, ambiguous: str = "unlabelled") -> pd.DataFrame:
    """Map raw neuron labels to the canonical neuron list.

    Parameters
    ----------
    raw_labels : sequence of str
        Labels as written in the file (``""`` for an anonymous ROI).
    label_map : neuroflow.io.celegans_labels.LabelMap
        From :func:`neuroflow.io.celegans_labels.build_label_map` (the connectomes' map).
    ambiguous : {"unlabelled", "resolve"}
        What to do with labels containing ``?``.

    Returns
    -------
    table : DataFrame, one row per raw label
        ``raw_label``, ``label`` (canonical label or ``""``), ``status`` (one of
        ``canonical``, ``ambiguous_resolved``, ``ambiguous``, ``duplicate``,
        ``not_a_neuron`` (a muscle or end organ), ``unknown``, ``none``).
    """
    if ambiguous not in AMBIGUOUS:
        raise ValueError(f"ambiguous must be one of {AMBIGUOUS}, got {ambiguous!r}")
    canon = label_map.blocks["neuron"]
    rows, used = [], set()
    pending = []
    for i, raw in enumerate(raw_labels):
        raw = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw).strip()
        if not raw:
            rows.append((raw, "", "none"))
            continue
        if "?" in raw:
            rows.append((raw, "", "ambiguous"))
            pending.append(i)
            continue
        block, label = label_map.map(raw)
        if block != "neuron":
            rows.append((raw, "", "not_a_neuron" if block in ("muscle", "other") else "unknown"))
        elif label in used:
            rows.append((raw, "", "duplicate"))
        else:
            used.add(label)
            rows.append((raw, label, "canonical"))
    if ambiguous == "resolve":
        for i in pending:
            raw = rows[i][0]
            pattern = re.compile("^" + re.escape(raw).replace(r"\?", ".") + "$")
            hits = [c for c in canon if pattern.match(c) and c not in used]
            if hits:
                used.add(hits[0])
                rows[i] = (raw, hits[0], "ambiguous_resolved")
    return pd.DataFrame(rows, columns=["raw_label", "label", "status"])


def assign_slots(labels, canonical: list[str], mode: str = "random", random_state: int = 42) -> np.ndarray:
    """Position in the canonical list: labelled neurons exactly, unlabelled ones at random.

    Parameters
    ----------
    labels : sequence of str
        Canonical label, or ``""`` for an unlabelled neuron.
    canonical : list of str
        The canonical neuron list (300 labels).
    mode : {"random", "none"}
        ``random``: unlabelled neurons take free slots drawn with
        ``numpy.random.default_rng(random_state)`` (the seed's layout, but reproducible);
        those beyond the free slots, and all of them with ``none``, get -1.

    Returns
    -------
    slots : ndarray of int16, shape (n_neurons,)
    """
    if mode not in SLOT_MODES:
        raise ValueError(f"slot mode must be one of {SLOT_MODES}, got {mode!r}")
    index = {c: i for i, c in enumerate(canonical)}
    slots = np.array([index.get(lab, -1) if lab else -1 for lab in labels], dtype=np.int16)
    unl = np.flatnonzero(slots < 0)
    if mode == "random" and unl.size:
        free = np.setdiff1d(np.arange(len(canonical)), slots[slots >= 0])
        rng = np.random.default_rng(random_state)
        chosen = rng.choice(free, size=min(unl.size, free.size), replace=False)
        slots[unl[: chosen.size]] = chosen
    return slots


def to_canonical(
    activity: xr.DataArray, canonical: list[str], include_unlabelled: bool = False
) -> xr.DataArray:
    """``(time, neuron)`` activity on the canonical neuron list (NaN where not recorded).

    Unlabelled neurons are placed at their random ``slot`` only when
    ``include_unlabelled`` (the seed's layout; never interpret those slots).
    """
    out = np.full((activity.sizes["time"], len(canonical)), np.nan, dtype=np.float32)
    slots = activity["slot"].values
    keep = activity["is_labelled"].values | (include_unlabelled & (slots >= 0))
    out[:, slots[keep]] = activity.values[:, keep]
    return xr.DataArray(
        out,
        dims=("time", "neuron"),
        coords={"time": activity["time"].values, "neuron": canonical},
        attrs=dict(activity.attrs),
    )
