"""The Randi et al. 2023 signal-propagation atlas in the canonical neuron order.

``funatlas.h5`` (shipped in the ``wormneuroatlas`` 0.0.7.3 wheel, GPL-3: fetched at run
time and read with h5py, never copied into this repository) holds, per strain (``wt``,
``unc31``), 300 x 300 matrices indexed ``[responding, stimulated]``:

* ``dFF``: mean dF/F response of the responding neuron in a window after optogenetic
  stimulation of the stimulated neuron, averaged over trials (NaN where never measured);
* ``q``: Benjamini-Hochberg q-value of the response against a null of no response;
* ``q_eq``: q-value of the equivalence test (response smaller than ``q_eq_th``);
* ``occ1``: number of trials (stimulation events with the pair observed).

We transpose to the connectome orientation (``pre`` = stimulated, ``post`` = responding).
The atlas uses 300 neuron ids; ``AWCON``/``AWCOFF`` are the functional AWC identities
(left/right differs between animals), so they cannot be mapped to ``AWCL``/``AWCR`` and
are reported as unmapped; those two canonical neurons stay untested (NaN).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import xarray as xr

STRAINS = ("wt", "unc31")
_VARIABLES = {"dFF": "amplitude", "q": "q", "q_eq": "q_eq", "occ1": "n_trials"}


def read_funatlas(path, label_map, strains=STRAINS) -> xr.Dataset:
    """Read ``funatlas.h5`` into the canonical order.

    Parameters
    ----------
    path : str or Path
        ``wormneuroatlas/data/funatlas.h5``.
    label_map : neuroflow.io.celegans_labels.LabelMap
        The connectomes' label map (canonical neuron list).
    strains : sequence of {"wt", "unc31"}

    Returns
    -------
    atlas : xarray.Dataset
        Over ``(strain, pre, post)``: ``amplitude`` (dF/F, post's response to stimulation
        of pre), ``q``, ``q_eq``, ``n_trials`` (int), ``tested`` (amplitude and q finite,
        pre != post); attrs ``q_eq_threshold`` (per strain, JSON), ``unmapped_labels``,
        ``time_compiled``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: funatlas file not found")
    canon = label_map.blocks["neuron"]
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not a readable HDF5 file: {exc}") from exc
    with fh:
        if "neuron_ids" not in fh:
            raise ValueError(f"{path}: no 'neuron_ids' dataset; is this funatlas.h5?")
        ids = [x.decode() if isinstance(x, bytes) else str(x) for x in fh["neuron_ids"][:]]
        rows, cols, unmapped = _map_ids(ids, label_map, canon)
        data, thresholds = _read_strains(fh, path, strains, len(ids), rows, cols, len(canon))
        compiled = fh.attrs.get("time_compiled", b"")
        compiled = compiled.decode() if isinstance(compiled, bytes) else str(compiled)
    ds = _atlas_dataset(data, strains, canon)
    ds.attrs.update(
        {
            "title": "Randi et al. 2023 signal-propagation atlas (canonical order)",
            "orientation": "pre = stimulated neuron, post = responding neuron "
            "(file matrices are [responding, stimulated])",
            "q_eq_threshold": json.dumps(thresholds),
            "unmapped_labels": json.dumps(unmapped),
            "time_compiled": compiled,
        }
    )
    return ds


def _map_ids(ids: list[str], label_map, canon: list[str]):
    """File rows that map to a canonical neuron, their canonical positions, the unmapped ids."""
    pos = {c: i for i, c in enumerate(canon)}
    rows, cols, unmapped = [], [], []
    for i, raw in enumerate(ids):
        block, label = label_map.map(raw)
        if block == "neuron" and label in pos:
            rows.append(i)
            cols.append(pos[label])
        else:
            unmapped.append(raw)
    return np.array(rows), np.array(cols), unmapped


def _read_strains(fh, path: Path, strains, n_ids: int, rows, cols, n: int):
    """Every variable of every strain as ``(strain, pre, post)`` arrays, and q_eq thresholds."""
    data = {v: np.full((len(strains), n, n), np.nan) for v in _VARIABLES.values()}
    thresholds = {}
    for s, strain in enumerate(strains):
        if strain not in fh:
            raise ValueError(f"{path}: no group {strain!r}; groups: {sorted(fh.keys())}")
        for key, name in _VARIABLES.items():
            if key not in fh[strain]:
                raise ValueError(f"{path}: group {strain!r} lacks dataset {key!r}")
            m = np.asarray(fh[strain][key][:], dtype=np.float64)
            if m.shape != (n_ids, n_ids):
                raise ValueError(f"{path}: {strain}/{key} has shape {m.shape}, expected {(n_ids, n_ids)}")
            # file [responding, stimulated] -> ours [pre = stimulated, post = responding]
            data[name][s][np.ix_(cols, cols)] = m[np.ix_(rows, rows)].T
        thresholds[strain] = float(fh[strain]["q_eq_th"][()]) if "q_eq_th" in fh[strain] else float("nan")
    return data, thresholds


def _atlas_dataset(data: dict, strains, canon: list[str]) -> xr.Dataset:
    n = len(canon)
    n_trials = np.nan_to_num(data["n_trials"], nan=0).astype(np.int32)
    offdiag = ~np.eye(n, dtype=bool)[None]
    tested = np.isfinite(data["amplitude"]) & np.isfinite(data["q"]) & offdiag
    dims = ("strain", "pre", "post")
    ds = xr.Dataset(
        {
            "amplitude": (dims, data["amplitude"]),
            "q": (dims, data["q"]),
            "q_eq": (dims, data["q_eq"]),
            "n_trials": (dims, n_trials),
            "tested": (dims, tested),
        },
        coords={"strain": list(strains), "pre": canon, "post": canon},
    )
    ds["amplitude"].attrs.update(
        units="1",
        quantity="dF/F",
        long_name=("mean response (dF/F) of post (responding) to optogenetic stimulation of pre"),
    )
    for name, text, units in (
        ("q", "q-value of the response (Benjamini-Hochberg)", "1"),
        ("q_eq", "q-value of the equivalence test (no response)", "1"),
        ("n_trials", "number of stimulation trials with the pair observed", "count"),
        ("tested", "amplitude and q are defined and pre != post", "1"),
        ("strain", "worm strain of the atlas", "1"),
        ("pre", "stimulated neuron", "1"),
        ("post", "responding neuron", "1"),
    ):
        ds[name].attrs.update(long_name=text, units=units)
    return ds
