"""File-level entry points for the activity rules (one function per rule) and config helpers.

Each function reads its inputs, calls the pure functions of the stage's modules and writes
its outputs atomically (:mod:`neuroflow.provenance`), so a failure leaves nothing partial.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from neuroflow.activity.readers import read_suite2p
from neuroflow.config import ConfigError
from neuroflow.output_schema import is_simulated, recorded_units
from neuroflow.provenance import read_netcdf, write_netcdf, write_tsv
from neuroflow.resources import citation_text, dataset_paths, sha256_file

VERSIONS = ("neuroflow", "numpy", "scipy", "pandas", "xarray", "h5netcdf", "h5py", "pynwb")
_SUITE2P_FILES = {"F": ["F.npy", "Fneu.npy"], "spks": ["spks.npy"], "Fneu": ["Fneu.npy"]}


# --------------------------------------------------------------------------- config helpers
def _keyword_defaults(func) -> dict:
    """The keyword defaults of a reader: what its absent ``reader_options`` mean."""
    return {
        k: p.default
        for k, p in inspect.signature(func).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def recording_files(config: dict, manifest: dict, recording: str) -> list[str]:
    """Input files of one recording: the manifest dataset's files or the user's paths.

    A suite2p folder in ``paths`` expands to the ``.npy`` files the reader will open.
    """
    rec = config["activity"]["recordings"][recording]
    if "paths" not in rec:
        paths = dataset_paths(manifest, rec["dataset"], config["resources"]["dest"])
        idx = rec.get("files") or range(len(paths))
        return [str(paths[i]) for i in idx]
    if rec["reader"] != "suite2p":
        return list(rec["paths"])
    opts = {**_keyword_defaults(read_suite2p), **(rec.get("reader_options") or {})}
    signal = opts["signal"]
    names = list(_SUITE2P_FILES.get(signal, ["F.npy"])) + ["iscell.npy"]
    if signal == "F" and not opts["neuropil_coefficient"]:
        names.remove("Fneu.npy")
    out = []
    for p in rec["paths"]:
        out += [str(Path(p) / n) for n in names] if not str(p).endswith(".npy") else [p]
    return out


def recording_source(config: dict, recording: str) -> str:
    """``dataset id`` of a recording, or ``"user"`` for user-supplied files."""
    rec = config["activity"]["recordings"][recording]
    return rec.get("dataset", "user")  # not a default: no dataset = the user's own files


def recording_citation(config: dict, manifest: dict, recording: str) -> str:
    """Citation of a recording's dataset (or a note for user-supplied files)."""
    src = recording_source(config, recording)
    if src == "user":
        return "user-supplied file(s)"
    return citation_text(manifest, src)


def connectome_path(conn_dir: str, connectome: str) -> str:
    """The connectome stage's NetCDF of a source id, or of the consensus."""
    if connectome == "consensus":
        return f"{conn_dir}/desc-consensus_connectome.nc"
    return f"{conn_dir}/source-{connectome}_desc-homogenized_connectome.nc"


def check_activity_config(config: dict, manifest: dict, root=".") -> None:
    """Raise :class:`neuroflow.config.ConfigError` naming the key for unusable values."""
    act = config.get("activity") or {}
    root = Path(root)
    datasets = manifest["datasets"]
    for rid, rec in (act.get("recordings") or {}).items():
        key = f"activity.recordings.{rid}"
        if ("dataset" in rec) == ("paths" in rec):
            raise ConfigError(f"config key {key}: give exactly one of 'dataset' or 'paths'")
        if "dataset" in rec:
            if rec["dataset"] not in datasets:
                raise ConfigError(
                    f"config key {key}.dataset: {rec['dataset']!r} is not in the "
                    f"manifest {config['resources']['manifest']}"
                )
            n = len(datasets[rec["dataset"]]["files"])
            bad = [i for i in rec.get("files") or [] if i >= n]  # absent = every file
            if bad:
                raise ConfigError(
                    f"config key {key}.files: indices {bad} out of range; dataset "
                    f"{rec['dataset']!r} has {n} file(s)"
                )
        else:
            for i, path in enumerate(rec["paths"]):
                p = Path(path)
                if not (p.exists() or (root / p).exists()):
                    raise ConfigError(f"config key {key}.paths[{i}]: file not found: {path}")
        opts = rec.get("reader_options") or {}
        if (
            rec["reader"] == "nwb"
            and opts.get("series") == "units"
            and "bin_s" in opts
            and "step_s" in act
            and not _same_step(opts["bin_s"], act["step_s"])
        ):
            raise ConfigError(
                f"config key {key}.reader_options.bin_s: spike units are binned "
                f"at activity.step_s ({act['step_s']} s) directly from their spike "
                f"times (resampling counts by a filter gives negative rates); got "
                f"{opts['bin_s']} s: remove bin_s or set it to activity.step_s"
            )
        if rec["reader"] == "suite2p" and not (rec.get("reader_options") or {}).get("rate_hz"):
            raise ConfigError(
                f"config key {key}.reader_options.rate_hz: suite2p folders need the "
                "frame rate (ops.npy is a pickle and is not read)"
            )
    fa = (act.get("funatlas") or {}).get("dataset")
    if fa and fa not in datasets:
        raise ConfigError(f"config key activity.funatlas.dataset: {fa!r} is not in the manifest")
    chosen = (act.get("structure_function") or {}).get("sources") or []
    unknown = sorted(set(chosen) - set(config["connectome"]["sources"]) - {"consensus"})
    if unknown:
        raise ConfigError(f"config key activity.structure_function.sources: unknown source id(s) {unknown}")


def _same_step(a, b) -> bool:
    try:
        return abs(float(a) - float(b)) <= 1e-9 * max(abs(float(b)), 1.0)
    except (TypeError, ValueError):
        return False


def _reader_options(recording_id: str, reader: str, reader_options: dict, step_s) -> dict:
    """NWB units are binned at the common step (``bin_s`` = ``activity.step_s``)."""
    opts = dict(reader_options or {})
    if reader == "nwb" and opts.get("series") == "units" and step_s is not None:
        if "bin_s" in opts and not _same_step(opts["bin_s"], step_s):
            raise ConfigError(
                f"config key activity.recordings.{recording_id}.reader_options."
                f"bin_s: spike units are binned at activity.step_s ({step_s} s); "
                f"got {opts['bin_s']} s"
            )
        opts["bin_s"] = float(step_s)
    return opts


def _label_map(cell_table, aliases, exclude):
    from neuroflow.io.celegans_labels import build_label_map, load_aliases, load_cell_table

    return build_label_map(load_cell_table(cell_table), load_aliases(aliases), tuple(exclude))


def _inputs(files) -> str:
    return json.dumps([{"file": Path(f).name, "sha256": sha256_file(f)} for f in files])


def _open(path) -> xr.Dataset:
    return read_netcdf(path)


# ------------------------------------------------------------------------------- rules
def homogenize_recording_files(
    files,
    *,
    recording_id: str,
    reader: str,
    reader_options: dict,
    cell_table,
    aliases,
    exclude,
    params: dict,
    source: str,
    label: str,
    citation: str,
    simulated: bool,
    out_nc,
    out_fig,
) -> xr.Dataset:
    """Read one recording, homogenize it, write its NetCDF and QC figure.

    NWB units (``reader_options.series: units``) are binned at ``params["step_s"]`` directly
    from their spike times, so they are never resampled by a filter.
    """
    from neuroflow.activity.figures import plot_recording_qc
    from neuroflow.activity.homogenize import homogenize_recording
    from neuroflow.activity.readers import read_recording

    options = _reader_options(recording_id, reader, reader_options, params.get("step_s"))
    try:
        rec = read_recording(reader, files, **options)
    except TypeError as exc:  # an option the reader does not take
        raise ConfigError(f"config key activity.recordings.{recording_id}.reader_options: {exc}") from exc
    label_map = _label_map(cell_table, aliases, exclude)
    attrs = {
        "label": label,
        "source": source,
        "citation": citation,
        "inputs": _inputs(files),
        "reader_options": json.dumps(reader_options or {}),
        "cell_table_sha256": sha256_file(cell_table),
        "aliases_sha256": sha256_file(aliases),
    }
    ds = homogenize_recording(rec, label_map, recording_id=recording_id, attrs=attrs, **params)
    plot_recording_qc(rec, ds, out_fig)
    write_netcdf(ds, out_nc, simulated=bool(simulated), sources=files, packages=VERSIONS)
    return ds


def _check_table_bin_width(spec: dict, ds, path: str) -> None:
    """A ``bin_width`` the user set for a counts table must be the table's own bin spacing."""
    key = spec.get("bin_width_key")
    if key is None:
        return
    wanted, width = float(spec["bin_width"]), float(ds.attrs["bin_width_s"])
    if abs(wanted - width) > 1e-6 * width + 1e-9:
        raise ConfigError(
            f"config key {key}: {wanted:g} s, but the counts table {path} has bins of "
            f"{width:g} s; a counts table is taken at its own bins and never re-binned, so "
            f"remove {key} or set it to {width:g}"
        )


def counts_file(files, *, spec: dict, citation: str, out_nc, out_units=None) -> xr.Dataset:
    """Standardized spike counts (and, for NWB units, the units file) of one recording.

    Parameters
    ----------
    files : list of str
        The one input file (NWB with a units table, or a counts TSV/CSV/NetCDF).
    spec : dict
        One entry of :func:`neuroflow.activity.inputs.spike_recordings` (``reader``,
        ``bin_width``, ``t_start``, ``t_stop``, ``angle_series``, ``time_column``,
        ``simulated``, ``source``, ``label``, ``entities``, ``key``).
    citation : str
        Citation of a manifest dataset ("" for other files).
    out_nc : str
        ``.../<entities>_desc-counts_spikes.nc``.
    out_units : str, optional
        ``.../<entities>_desc-units_spikes.nc``: every spike time, the unit locations, the
        head angle and the epochs (:func:`neuroflow.activity.spikes.units_dataset`), from
        the same reading of the NWB file as the counts (reader ``nwb`` only).
    """
    from neuroflow.activity.nwb import read_nwb_units
    from neuroflow.activity.spikes import bin_spikes, read_counts_table, units_dataset

    files = [str(f) for f in files]
    if len(files) != 1:
        raise ConfigError(f"config key {spec['key']}: one file per spike recording, got {files}")
    units = None
    if spec["reader"] == "nwb":
        units = read_nwb_units(files[0], angle_series=spec.get("angle_series") or "")
        ds = bin_spikes(
            units, spec["bin_width"], spec.get("t_start"), spec.get("t_stop"), simulated=spec["simulated"]
        )
    elif spec["reader"] == "table":
        ds = read_counts_table(files[0], time_column=spec["time_column"], simulated=spec["simulated"])
        _check_table_bin_width(spec, ds, files[0])
    else:
        raise ConfigError(f"config key {spec['key']}.reader: {spec['reader']!r} is not nwb or table")
    if out_units is not None and units is None:
        raise ConfigError(
            f"config key {spec['key']}: a counts table has no spike times, so no "
            "units file can be written (reader: nwb gives one)"
        )
    stamp = {
        "recording": spec["stem"],
        "label": str(spec.get("label", spec["stem"])),
        "entities": json.dumps(spec["entities"], sort_keys=True),
        "source": spec["source"],
        "citation": citation,
        "inputs": _inputs(files),
        "simulated_description": (
            "SIMULATED (set by the user: " + spec["key"] + ".simulated)"
            if spec["simulated"]
            else "no (recorded data)"
        ),
        "parameters": json.dumps(
            {k: spec.get(k) for k in ("reader", "bin_width", "t_start", "t_stop", "angle_series")},
            sort_keys=True,
        ),
    }
    ds.attrs.update(stamp)
    for note in ds.attrs["notes"]:
        print(f"{spec['stem']}: {note}", flush=True)
    ds.attrs["notes"] = json.dumps(list(ds.attrs["notes"]))
    if out_units is not None:
        full = units_dataset(units, simulated=spec["simulated"])
        full.attrs.update(
            {
                **stamp,
                "parameters": json.dumps(
                    {"reader": "nwb", "angle_series": spec.get("angle_series")}, sort_keys=True
                ),
            }
        )
        write_netcdf(full, out_units, simulated=spec["simulated"], sources=files, packages=VERSIONS)
    write_netcdf(ds, out_nc, simulated=spec["simulated"], sources=files, packages=VERSIONS)
    return ds


def traces_file(files, *, spec: dict, series, only_cells: bool, simulated: bool, out_nc) -> xr.Dataset:
    """Standardized fluorescence traces of one BIDS NWB file (``activity.bids.kind: traces``)."""
    from neuroflow.activity.nwb import read_nwb

    files = [str(f) for f in files]
    rec = read_nwb(files[0], series=series or None, only_cells=only_cells)
    rec.attrs.update(
        {
            "recording": spec["stem"],
            "entities": json.dumps(spec["entities"], sort_keys=True),
            "source": "bids",
            "inputs": _inputs(files),
        }
    )
    for note in rec.attrs["notes"]:
        print(f"{spec['stem']}: {note}", flush=True)
    rec.attrs["notes"] = json.dumps(list(rec.attrs["notes"]))
    write_netcdf(
        rec,
        out_nc,
        simulated=bool(simulated),
        sources=files,
        packages=VERSIONS,
        variables=_trace_variables(rec),
    )
    return rec


def fc_file(nc, *, kind: str, min_overlap: int, out_nc) -> xr.Dataset:
    """Per-recording functional connectivity NetCDF."""
    from neuroflow.activity.structure import functional_connectivity

    ds = _open(nc)
    fc = functional_connectivity(ds["activity"], kind=kind, min_overlap=min_overlap)
    out = fc.to_dataset(name="fc")
    out.attrs.update({"recording": ds.attrs["recording"], "kind": kind, "inputs": _inputs([nc])})
    variables = {
        **NEURON_VARIABLES,
        "fc": (f"functional connectivity ({kind})", "1"),
        "neuron_j": ("second neuron of the pair", "1"),
    }
    write_netcdf(
        out,
        out_nc,
        simulated=is_simulated(ds.attrs, nc),
        sources=[nc],
        packages=VERSIONS,
        variables=_present(out, variables),
    )
    return out


def index_files(ncs, fcs, *, out_tsv, fig_fc) -> pd.DataFrame:
    """Dataset index TSV (one row per recording) and the FC small multiples."""
    from neuroflow.activity.figures import plot_fc
    from neuroflow.activity.homogenize import index_row

    rows, mats = [], {}
    for nc, fc in zip(ncs, fcs):
        ds = _open(nc)
        rows.append(index_row(ds, ds.attrs.get("source", "")))
        f = _open(fc)
        mats[ds.attrs["recording"]] = f["fc"]
        off = f["fc"].values[~np.eye(f.sizes["neuron"], dtype=bool)]
        rows[-1]["fc_mean_abs"] = float(np.nanmean(np.abs(off))) if off.size else np.nan
    if not rows:
        raise ValueError("activity.recordings is empty: nothing to index")
    table = pd.DataFrame(rows).sort_values("recording", kind="stable")
    write_tsv(
        table,
        out_tsv,
        "One row per homogenized activity recording.",
        INDEX_COLUMNS,
        sources=[Path(p).name for p in ncs],
        simulated=bool(table["simulated"].any()),
    )
    plot_fc(mats, fig_fc)
    return table


def funatlas_file(h5, *, cell_table, aliases, exclude, strains, citation, out_nc) -> xr.Dataset:
    """The signal-propagation atlas in the canonical order (NetCDF)."""
    from neuroflow.activity.funatlas import read_funatlas

    atlas = read_funatlas(h5, _label_map(cell_table, aliases, exclude), strains)
    atlas.attrs.update(
        {
            "citation": citation,
            "inputs": _inputs([h5]),
            "licence": "GPL-3.0 (wormneuroatlas); derived at run time, not vendored",
        }
    )
    write_netcdf(atlas, out_nc, simulated=False, sources=[h5], packages=VERSIONS)
    return atlas


NEURON_VARIABLES = {
    "neuron": ("neuron id (canonical label or anonymous id)", "1"),
    "raw_label": ("neuron label as written in the file", "1"),
    "roi_index": ("index of the trace in the file", "1"),
    "is_labelled": ("neuron has a canonical label (1) or not (0)", "1"),
    "label_status": ("how the raw label mapped to the canonical list", "1"),
}


def _present(ds, variables: dict) -> dict:
    return {k: v for k, v in variables.items() if k in ds.variables}


def _trace_variables(rec) -> dict:
    """long_name/units of a read recording (the file's unit kept as ``units_in_file``)."""
    units, raw = recorded_units(rec["traces"].attrs.get("units"))
    if raw:
        rec["traces"].attrs["units_in_file"] = raw
    return _present(
        rec,
        {
            **NEURON_VARIABLES,
            "traces": ("trace as stored in the file", units),
            "time": ("time of the sample (file clock)", "s"),
        },
    )


INDEX_COLUMNS = {
    "recording": "recording id (config key activity.recordings)",
    "source": "manifest dataset id, or 'user' for your own files",
    "reader": "reader of the file (config reader)",
    "signal": "what the traces are",
    "simulated": "the recording holds simulated data (set by the user or the generator)",
    "native_rate_hz": {"Description": "sampling rate of the file, from its time stamps", "Units": "Hz"},
    "rate_hz": {"Description": "common rate after anti-aliased resampling", "Units": "Hz"},
    "native_duration_s": {"Description": "duration of the file", "Units": "s"},
    "duration_s": {"Description": "(n_samples - 1) x step", "Units": "s"},
    "n_samples_native": {"Description": "samples in the file", "Units": "count"},
    "n_samples": {"Description": "samples after resampling", "Units": "count"},
    "n_rois": {"Description": "traces in the file after the cell/ROI selection", "Units": "count"},
    "n_neurons": {"Description": "traces kept (NaN/gap and dF/F checks)", "Units": "count"},
    "n_labelled": {
        "Description": "neurons mapped to the canonical list shared with the connectomes",
        "Units": "count",
    },
    "n_unlabelled": {"Description": "neurons kept with anonymous ids", "Units": "count"},
    "n_ambiguous": {
        "Description": "labels with '?' (kept unlabelled unless ambiguous: resolve)",
        "Units": "count",
    },
    "n_dropped": {"Description": "traces dropped (reasons in the NetCDF attrs)", "Units": "count"},
    "n_nan_samples": {
        "Description": "NaN values left in the homogenized activity (long gaps)",
        "Units": "count",
    },
    "fc_mean_abs": {"Description": "mean |FC| over neuron pairs", "Units": "1"},
}
FC_COLUMNS = {
    "recording": "recording id",
    "connectome": "anatomy compared with (the consensus)",
    "kind": "functional connectivity measure (config activity.fc kind)",
    "n_labelled": {"Description": "neurons with canonical labels", "Units": "count"},
    "n_pairs": {"Description": "labelled pairs observed by the consensus", "Units": "count"},
    "spearman_rho": {
        "Description": "Spearman correlation of |FC| and the symmetric consensus anatomical strength",
        "Units": "1",
    },
}
_SHARED_COLUMNS = {
    "kind": {
        "Description": "what the connectome is",
        "Levels": {"source": "one homogenized source", "consensus": "the consensus of the sources"},
    },
    "strain": "worm strain of the atlas",
    "alpha": {"Description": "q-value threshold of a significant response", "Units": "1"},
    "negatives": "which non-significant pairs count as negatives (config negatives)",
    "n_bootstrap": {"Description": "bootstrap draws over stimulated neurons", "Units": "count"},
    "n_pairs": {
        "Description": "tested neuron pairs observed by the connectome (pre != post)",
        "Units": "count",
    },
    "n_significant": {"Description": "pairs with q < alpha", "Units": "count"},
}
STATS_COLUMNS = {
    "connectome": "homogenized source id, or 'consensus'",
    "statistic": "auroc (significant vs non-significant pairs) or spearman (strength vs |dF/F|)",
    "predictor": "synapse | chemical | electrical | strength | hops | reach<k>",
    "subset": "pairs entering the statistic",
    "value": "AUROC (0.5 = chance) or Spearman rho",
    "ci_low": "lower percentile-bootstrap bound (stimulated neurons resampled)",
    "ci_high": "upper percentile-bootstrap bound",
    "n_pairs": "tested neuron pairs observed by the connectome (pre != post)",
    "n_significant": "pairs with q < alpha",
    "n_stimulated": "stimulated neurons (clusters)",
    "precision": "P(significant | predictor present)",
    "recall": "P(predictor present | significant)",
    "base_rate": "P(significant)",
}
STATS_COLUMNS = {
    **STATS_COLUMNS,
    **_SHARED_COLUMNS,
    "n_stimulated": {"Description": "stimulated neurons (clusters)", "Units": "count"},
}
HOPS_COLUMNS = {
    **_SHARED_COLUMNS,
    "connectome": "homogenized source id, or 'consensus'",
    "hops": "shortest directed anatomical path (synapses); gap junctions count both ways",
    "fraction_significant": "n_significant / n_pairs",
    "ci_low": "lower percentile-bootstrap bound",
    "ci_high": "upper percentile-bootstrap bound",
}


def structure_function_files(
    atlas_nc,
    connectome_ncs,
    names,
    fc_ncs,
    consensus_nc,
    *,
    params: dict,
    n_jobs: int,
    out_stats,
    out_hops,
    out_fc,
    fig_auroc,
    fig_hops,
) -> pd.DataFrame:
    """Structure-function tables of every connectome against the atlas, each recording's FC
    against the consensus anatomy, and the report figures."""
    from neuroflow.activity.figures import plot_auroc, plot_hops
    from neuroflow.activity.structure import anatomy_layers, fc_vs_anatomy, structure_function

    if len(names) != len(connectome_ncs):
        raise ValueError(f"{len(names)} connectome names for {len(connectome_ncs)} files")
    atlas = _open(atlas_nc)
    connectomes = {name: _open(path) for name, path in zip(names, connectome_ncs)}
    stats, hops = structure_function(atlas, connectomes, n_jobs=n_jobs, **params)
    sources = [Path(p).name for p in (atlas_nc, *connectome_ncs)]
    write_tsv(
        stats,
        out_stats,
        "How well each connectome predicts significant responses of "
        "the Randi et al. 2023 signal-propagation atlas.",
        STATS_COLUMNS,
        sources,
        simulated=False,
    )
    write_tsv(
        hops,
        out_hops,
        "Fraction of tested pairs responding by shortest anatomical path length in each connectome.",
        HOPS_COLUMNS,
        sources,
        simulated=False,
    )
    rows = []
    cons = connectomes["consensus"] if "consensus" in connectomes else _open(consensus_nc)
    canonical = [str(x) for x in cons["pre"].values]
    layers = anatomy_layers(cons, canonical, params["min_support"])
    for path in fc_ncs:
        f = _open(path)
        rows.append(
            {
                "recording": f.attrs["recording"],
                "connectome": "consensus",
                "kind": f.attrs["kind"],
                **fc_vs_anatomy(f["fc"], layers, canonical),
            }
        )
    fc_table = pd.DataFrame(
        rows, columns=["recording", "connectome", "kind", "n_labelled", "n_pairs", "spearman_rho"]
    )
    write_tsv(
        fc_table,
        out_fc,
        "Spearman correlation between each recording's |FC| and the "
        "symmetric consensus anatomical strength, over pairs of labelled neurons "
        "(n/a when fewer than 3 labelled neurons).",
        FC_COLUMNS,
        [Path(p).name for p in (*fc_ncs, consensus_nc)],
        simulated=any(is_simulated(_open(p).attrs, p) for p in fc_ncs),
    )
    plot_auroc(stats, fig_auroc)
    plot_hops(hops, fig_hops)
    return stats
