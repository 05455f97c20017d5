"""Descriptions and units of the EEG stage's tables and NetCDF variables (output schema).

:func:`neuroflow.provenance.write_tsv` needs a description for every column and
:func:`neuroflow.provenance.write_netcdf` a ``long_name`` and ``units`` for every variable;
the EEG writers take them from here.
"""

from __future__ import annotations

_U = "Units"

VARIABLES = {
    "psd_welch": ("Welch PSD, mean over epochs", "V**2/Hz"),
    "psd_multitaper": ("multitaper PSD, mean over epochs", "V**2/Hz"),
    "band_power": ("absolute band power (Welch)", "V**2"),
    "relative_band_power": ("band power / total power in the fitted range", "1"),
    "band_edges": ("band edges [low, high)", "Hz"),
    "channel": ("EEG channel", "1"),
    "channel_to": ("second EEG channel of the pair", "1"),
    "freq": ("frequency (Welch)", "Hz"),
    "freq_multitaper": ("frequency (multitaper)", "Hz"),
    "band": ("frequency band", "1"),
    "edge": ("band edge", "1"),
    "ch_x": ("channel position x (head coordinates)", "m"),
    "ch_y": ("channel position y (head coordinates)", "m"),
    "ch_z": ("channel position z (head coordinates)", "m"),
    "aperiodic_offset": ("specparam aperiodic offset, log10 of the power in uV**2/Hz", "1"),
    "aperiodic_exponent": ("specparam aperiodic exponent (1/f slope)", "1"),
    "r_squared": ("specparam fit R^2", "1"),
    "alpha_cf": ("strongest alpha-range peak frequency", "Hz"),
    "alpha_pw": ("its height, log10 power above the aperiodic fit", "1"),
    "connectivity": ("sensor connectivity (symmetric)", "1"),
    "band_estimated": ("1 if the band spans >= 5 cycles per epoch", "1"),
    "method": ("connectivity method", "1"),
    "recording": ("BIDS entities of the recording", "1"),
    "subject": ("BIDS subject label", "1"),
    "session": ("BIDS session label (n/a: none)", "1"),
    "task": ("BIDS task label", "1"),
    "acquisition": ("BIDS acquisition label (n/a: none)", "1"),
    "run": ("BIDS run index (n/a: none)", "1"),
    "simulated": ("1 = recording from neuroflow's seeded simulator, 0 = recorded", "1"),
    "exponent": ("median aperiodic exponent over channels", "1"),
    "offset": ("median aperiodic offset over channels, log10 of the power in uV**2/Hz", "1"),
    "alpha_peak_frequency": ("median over channels of the strongest alpha-range peak", "Hz"),
    "truth_exponent": ("simulated aperiodic exponent (simulated recordings only)", "1"),
    "truth_alpha_peak_frequency": ("simulated alpha peak frequency (simulated only)", "Hz"),
    "mean_connectivity": ("sensor connectivity, mean over channel pairs", "1"),
    "con_band": ("frequency band of the connectivity", "1"),
}


def variables_of(ds) -> dict:
    """The :data:`VARIABLES` entries that ``ds`` has (for ``write_netcdf(variables=...)``)."""
    return {k: v for k, v in VARIABLES.items() if k in ds.variables}


COMPONENT_COLUMNS = {
    "component": "ICA component",
    "explained_variance": {"Description": "fraction of EEG variance", _U: "1"},
    "eog_score": {"Description": "correlation (or z) with the EOG reference, 1-10 Hz", _U: "1"},
    "eog_reference": "EOG channel, or frontal EEG proxy",
    "ecg_score": {"Description": "ECG correlation", _U: "1"},
    "excluded": "removed from the data",
    "iclabel": "ICLabel class of the component (n/a when ICLabel is off)",
    "iclabel_probability": {"Description": "ICLabel probability of that class", _U: "1"},
    "reason": "why the component was removed (n/a: kept)",
}
EPOCHS_LOG_COLUMNS = {
    "epoch": "epoch index",
    "onset": {"Description": "epoch start from recording start", _U: "s"},
    "max_peak_to_peak_uV": {"Description": "largest EEG peak-to-peak amplitude", _U: "uV"},
    "kept": "survived rejection",
    "drop_reason": "criterion:channel (n/a: kept)",
}
BANDPOWER_COLUMNS = {
    "channel": "EEG channel",
    "band": "frequency band",
    "fmin": {"Description": "lower band edge (inclusive)", _U: "Hz"},
    "fmax": {"Description": "upper band edge (exclusive)", _U: "Hz"},
    "power_uV2": {"Description": "integral of the Welch PSD over [fmin, fmax)", _U: "uV**2"},
}
APERIODIC_COLUMNS = {
    "channel": "EEG channel",
    "offset": {"Description": "aperiodic offset, log10 of the power in uV**2/Hz", _U: "1"},
    "exponent": {"Description": "aperiodic exponent (1/f slope)", _U: "1"},
    "r_squared": {"Description": "fit R^2", _U: "1"},
    "knee": {"Description": "aperiodic knee (n/a unless aperiodic_mode is knee)", _U: "1"},
    "error_mae": {"Description": "mean absolute fit error, log10 power", _U: "1"},
    "alpha_cf": {"Description": "strongest alpha-range peak", _U: "Hz"},
    "alpha_pw": {"Description": "its height, log10 power above the aperiodic fit", _U: "1"},
    "alpha_bw": {"Description": "its bandwidth", _U: "Hz"},
    "n_peaks": {"Description": "peaks fitted", _U: "count"},
}
PEAK_COLUMNS = {
    "channel": "EEG channel",
    "cf": {"Description": "centre frequency", _U: "Hz"},
    "pw": {"Description": "height above aperiodic, log10 power", _U: "1"},
    "bw": {"Description": "bandwidth", _U: "Hz"},
}
GROUP_COLUMNS = {
    "recording": "BIDS entities of the recording (sub, ses, task, acq, run)",
    "subject": "BIDS subject label",
    "session": "BIDS session label (n/a: none)",
    "task": "BIDS task label",
    "acquisition": "BIDS acquisition label (n/a: none)",
    "run": "BIDS run index (n/a: none)",
    "simulated": "true for subjects from neuroflow's seeded simulator (not recordings)",
    "kind": {
        "Description": "where the recording comes from",
        "Levels": {
            "embedded": "the embedded real recording",
            "simulated": "seeded simulator",
            "file": "a file of eeg.subjects",
            "bids": "a BIDS dataset",
        },
    },
    "n_channels": {"Description": "EEG channels", _U: "count"},
    "bad_channels": "channels flagged bad (interpolated when enabled)",
    "n_ica_components": {"Description": "ICA components fitted", _U: "count"},
    "ica_excluded": "ICA components removed",
    "n_epochs": {"Description": "epochs before rejection", _U: "count"},
    "n_epochs_kept": {"Description": "epochs after rejection", _U: "count"},
    "exponent": {"Description": "median aperiodic exponent over channels", _U: "1"},
    "offset": {"Description": "median aperiodic offset, log10 of the power in uV**2/Hz", _U: "1"},
    "r_squared": {"Description": "median specparam R^2", _U: "1"},
    "alpha_peak_frequency": {
        "Description": "median over channels of the strongest alpha-range peak",
        _U: "Hz",
    },
    "truth_exponent": {"Description": "simulated exponent (simulated subjects only)", _U: "1"},
    "truth_alpha_peak_frequency": {"Description": "simulated alpha peak frequency", _U: "Hz"},
    "truth_dead_channel": "simulated dead channel (simulated subjects only)",
    "exponent_error": {"Description": "recovered minus true exponent", _U: "1"},
    "alpha_error": {"Description": "recovered minus true alpha peak", _U: "Hz"},
    "dead_channel_detected": "the simulated dead channel was flagged bad",
}


def group_columns(table_columns, bands) -> dict:
    """Column descriptions of the group table (band and connectivity columns included)."""
    cols = dict(GROUP_COLUMNS)
    cols.update(
        {f"relative_{b}": {"Description": f"relative {b} power, mean over channels", _U: "1"} for b in bands}
    )
    for c in table_columns:
        if c not in cols and "_" in c:  # <method>_<band> mean connectivity
            method, band = c.split("_", 1)
            cols[c] = {"Description": f"mean {method} over channel pairs, {band} band", _U: "1"}
    return cols
