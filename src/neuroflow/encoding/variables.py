"""long_name and units of every variable the encoding stage writes (output schema).

:func:`neuroflow.provenance.write_netcdf` needs a ``long_name`` and a unit expression on
every variable and coordinate. Responses and features come in the data set's own units
(``response_units`` / ``feature_units``, free text such as ``"z (BOLD, ...)"``): those
become ``units`` when they are a unit (``spikes/s`` -> ``count/s``) and ``"1"`` otherwise,
with the text kept in the variable attribute ``units_in_file`` and the long name.
"""

from __future__ import annotations

from neuroflow.output_schema import recorded_units

VARIABLES = {
    # designs
    "time": ("time from the start of the run (bin start)", "s"),
    "run": ("run label", "1"),
    "block": ("cross-validation block of the sample", "1"),
    "feature": ("feature", "1"),
    "band": ("feature band (group of features)", "1"),
    "target": ("target (response)", "1"),
    "condition": ("condition of the sample", "1"),
    "location": ("recorded location", "1"),
    "voxel_i": ("voxel index i", "1"),
    "voxel_j": ("voxel index j", "1"),
    "voxel_k": ("voxel index k", "1"),
    "region": ("region", "1"),
    "head_angle": ("head angle (circular mean within the bin)", "rad"),
    # ridge results
    "r": ("Pearson r of the held-out fold", "1"),
    "r2": ("R^2 of the held-out fold", "1"),
    "alpha": ("regularisation (ridge penalty) chosen by the inner CV", "1"),
    "fold_of_sample": ("outer fold holding the sample out", "1"),
    "null": ("null accuracy of the permutation", "1"),
    "p": ("permutation p-value", "1"),
    "p_fdr": ("FDR-adjusted p-value (Benjamini-Hochberg)", "1"),
    "band_r2": ("held-out R^2 of the band's part (himalaya r2_score_split)", "1"),
    "band_weight": ("band weight (banded ridge)", "1"),
    "band_alpha": ("penalty of the band (exp(-delta))", "1"),
    "lag": ("FIR lag: response after stimulus", "s"),
    "fold": ("outer fold", "1"),
    "permutation": ("permutation", "1"),
    # routing
    "stimulus": ("stimulus", "1"),
    "channel": ("feature-map channel", "1"),
    "y": ("feature-map row", "1"),
    "x": ("feature-map column", "1"),
    "moving": ("moving region", "1"),
    "target_region": ("region of the target", "1"),
    "source_row": ("known source token row (-1: moving region)", "1"),
    "source_col": ("known source token column (-1: moving region)", "1"),
    "object_row": ("row of the marked object", "1"),
    "object_col": ("column of the marked object", "1"),
    "r_attention": ("held-out r of the attention-routing encoder", "1"),
    "r_ridge": ("held-out r of ridge on the same folds", "1"),
    "attention": (
        "cross-attention weight of the region query on each token (held-out stimulus; sums to 1 over tokens)",
        "1",
    ),
    "attention_mean": ("mean attention map over held-out stimuli", "1"),
    "attention_entropy": ("entropy of the mean map / log(number of tokens)", "1"),
    "attention_peak_to_mean": ("peak / mean of the mean attention map", "1"),
    "attention_flat": ("1 = mean map flat (no peak reported)", "1"),
    "fold_of_stimulus": ("outer fold holding the stimulus out", "1"),
    "validation_r": ("validation r per training epoch", "1"),
    "epoch": ("training epoch", "1"),
}
IN_RESPONSE_UNITS = {
    "responses": "responses",
    "prediction": "held-out prediction",
    "prediction_attention": "held-out prediction of the attention encoder",
    "prediction_ridge": "held-out prediction of ridge",
    "coef": "FIR weight per SD of the feature",
}


def _data_units(ds, name: str, text: str, stated) -> tuple[str, str]:
    units, raw = recorded_units(stated)
    if raw:
        ds[name].attrs["units_in_file"] = raw
        return f"{text} ({raw})", units
    return text, units


def variables_of(ds, response_units: str | None = None) -> dict:
    """``{name: (long_name, units)}`` for every variable of an encoding dataset."""
    resp = response_units if response_units is not None else ds.attrs.get("response_units")
    out = {k: v for k, v in VARIABLES.items() if k in ds.variables}
    for name, text in IN_RESPONSE_UNITS.items():
        if name in ds.variables:
            out[name] = _data_units(ds, name, text, resp)
    if "features" in ds.variables:
        out["features"] = _data_units(
            ds,
            "features",
            "stimulus features",
            ds.attrs.get("feature_units", ds["features"].attrs.get("units")),
        )
    return out
