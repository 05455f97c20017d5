"""Seeded simulator of resting-state EEG with known ground truth.

Sources are dipoles on a volume grid inside an MNE multi-shell sphere head model
(:func:`mne.make_sphere_model`, :func:`mne.setup_volume_source_space`,
:func:`mne.make_forward_solution`). Every dipole carries independent aperiodic
(1/f^exponent) activity; dipoles behind the sphere's centre also carry an alpha rhythm
whose power spectrum is a Gaussian around the alpha peak frequency. Because all sources
share one exponent and the forward model mixes them linearly, every channel's aperiodic
exponent equals the simulated one. Blinks come from :func:`mne.simulation.add_eog`
(two frontal dipoles, blink rate 4.5-17 per minute), rescaled to a chosen peak amplitude;
one channel is dead (flat amplifier noise); line noise and white sensor noise are added.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mne
import numpy as np

from neuroflow.config import fill_defaults
from neuroflow.eeg.io import load_montage
from neuroflow.schema_docs import load_schema
from neuroflow.workflow_files import workflow_root

# A 32-channel 10-20 layout (BrainProducts actiCAP 32).
CHANNELS_32 = [
    "Fp1",
    "Fp2",
    "F7",
    "F3",
    "Fz",
    "F4",
    "F8",
    "FC5",
    "FC1",
    "FC2",
    "FC6",
    "T7",
    "C3",
    "Cz",
    "C4",
    "T8",
    "TP9",
    "CP5",
    "CP1",
    "CP2",
    "CP6",
    "TP10",
    "P7",
    "P3",
    "Pz",
    "P4",
    "P8",
    "PO9",
    "O1",
    "Oz",
    "O2",
    "PO10",
]
# Channels that may be chosen as the dead one: not the frontal blink proxies, not the edge.
DEAD_CANDIDATES = ("C3", "Cz", "C4", "CP1", "CP2", "FC1", "FC2", "P3", "Pz", "P4")
SIMULATED_NOTE = "SIMULATED EEG (neuroflow seeded simulator; not a recording)"


def colored_noise(
    n_signals: int, n_times: int, sfreq: float, exponent: float, rng: np.random.Generator
) -> np.ndarray:
    """Gaussian noise with power spectrum proportional to 1/f**exponent.

    Returns
    -------
    ndarray, shape (n_signals, n_times)
        Unit variance per signal (dimensionless).
    """
    spec = np.fft.rfft(rng.standard_normal((n_signals, n_times)), axis=1)
    f = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    f[0] = f[1]
    spec *= f ** (-exponent / 2.0)
    spec[:, 0] = 0.0
    x = np.fft.irfft(spec, n=n_times, axis=1)
    return x / x.std(axis=1, keepdims=True)


def narrowband_noise(
    n_signals: int, n_times: int, sfreq: float, center: float, sd: float, rng: np.random.Generator
) -> np.ndarray:
    """Gaussian noise whose power spectrum is a Gaussian (centre, sd in Hz); unit variance."""
    spec = np.fft.rfft(rng.standard_normal((n_signals, n_times)), axis=1)
    f = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    spec *= np.exp(-0.25 * ((f - center) / sd) ** 2)  # amplitude: sqrt of the power Gaussian
    x = np.fft.irfft(spec, n=n_times, axis=1)
    return x / x.std(axis=1, keepdims=True)


def draw_truth(index: int, seed: int, exponent_range, alpha_range, channels=CHANNELS_32) -> dict:
    """Ground truth of simulated subject `index` (1-based), drawn from its own seed stream.

    Adding subjects to a cohort never changes the earlier subjects' truth.
    """
    rng = np.random.default_rng([int(seed), int(index), 1])
    candidates = [c for c in DEAD_CANDIDATES if c in channels] or list(channels)
    return {
        "aperiodic_exponent": round(float(rng.uniform(*exponent_range)), 4),
        "alpha_peak_frequency": round(float(rng.uniform(*alpha_range)), 3),
        "dead_channel": str(candidates[int(rng.integers(len(candidates)))]),
        "seed": [int(seed), int(index)],
    }


def _forward(info, grid_spacing: float):
    sphere = mne.make_sphere_model("auto", "auto", info, verbose="error")
    src = mne.setup_volume_source_space(sphere=sphere, pos=float(grid_spacing), verbose="error")
    fwd = mne.make_forward_solution(
        info, trans=None, src=src, bem=sphere, eeg=True, meg=False, verbose="error"
    )
    return fwd, np.asarray(sphere["r0"])


_SIMULATION_KEYS = (
    "sfreq",
    "duration",
    "montage",
    "alpha_ratio",
    "blink_amplitude",
    "line_freq",
    "grid_spacing",
)


@functools.cache
def simulation_defaults() -> dict:
    """The eeg schema's defaults (``eeg.simulate``, workflow/schemas/eeg.schema.yaml) of
    :func:`simulate_subject`'s settings, in its units: ``blink_amplitude`` in V (the
    schema's is in microvolts)."""
    schema = load_schema(workflow_root() / "workflow" / "schemas" / "eeg.schema.yaml")
    sim = fill_defaults({}, schema["properties"]["simulate"])
    return {key: sim[key] * 1e-6 if key == "blink_amplitude" else sim[key] for key in _SIMULATION_KEYS}


@dataclass(frozen=True)
class SimulationSettings:
    """What :func:`simulate_subject` simulates: the ``eeg.simulate`` settings (units of
    :func:`simulation_defaults`) and the constants of the head (V, Hz)."""

    sfreq: float
    duration: float
    montage: str
    alpha_ratio: float
    blink_amplitude: float
    line_freq: float
    grid_spacing: float
    eeg_rms: float
    alpha_sd: float
    line_amplitude: float
    sensor_noise: float
    dead_noise: float


def _simulation_settings(given: dict, **head) -> SimulationSettings:
    """``given`` over :func:`simulation_defaults`, with the head constants ``head``."""
    unknown = sorted(set(given) - set(_SIMULATION_KEYS))
    if unknown:
        raise TypeError(f"simulate_subject() got unexpected settings {unknown}")
    merged = {**simulation_defaults(), **given}
    return SimulationSettings(**{key: merged[key] for key in _SIMULATION_KEYS}, **head)


def simulate_subject(
    truth: dict,
    *,
    channels=CHANNELS_32,
    eeg_rms: float = 20e-6,
    alpha_sd: float = 0.6,
    line_amplitude: float = 2e-6,
    sensor_noise: float = 0.3e-6,
    dead_noise: float = 0.05e-6,
    random_state: int | list = 0,
    **simulation,
):
    """Simulate one subject's resting-state EEG.

    Settings of ``eeg.simulate`` left out take :func:`simulation_defaults`; the keywords
    eeg_rms, alpha_sd, line_amplitude, sensor_noise, dead_noise are constants of the head.

    Parameters
    ----------
    truth : dict
        From :func:`draw_truth`: ``aperiodic_exponent``, ``alpha_peak_frequency`` (Hz),
        ``dead_channel``.
    sfreq, duration, line_freq : float
        Sampling rate (Hz), length (s) and line-noise frequency (Hz).
    montage : str
        Montage of the channels (:func:`neuroflow.eeg.io.load_montage`).
    eeg_rms : float
        Median channel standard deviation of the brain signal (V), before artifacts.
    alpha_ratio : float
        Alpha variance relative to aperiodic variance in each posterior dipole.
    alpha_sd : float
        Standard deviation (Hz) of the Gaussian alpha peak in the source spectrum.
    blink_amplitude : float
        Peak absolute blink amplitude over channels (V); 0 disables blinks.
    line_amplitude, sensor_noise, dead_noise : float
        Line-noise amplitude, white sensor-noise SD and the dead channel's SD (V).
    grid_spacing : float
        Source grid spacing (mm).

    Returns
    -------
    raw : mne.io.RawArray
        Simulated recording, shape (n_channels, n_times), volts.
    blink : mne.io.RawArray
        The blink contribution alone (same shape; the ICA test's template).
    truth : dict
        `truth` plus what was simulated (blink onsets count, scales).
    """
    settings = _simulation_settings(
        simulation,
        eeg_rms=eeg_rms,
        alpha_sd=alpha_sd,
        line_amplitude=line_amplitude,
        sensor_noise=sensor_noise,
        dead_noise=dead_noise,
    )
    rng = np.random.default_rng(random_state)
    info = mne.create_info(list(channels), float(settings.sfreq), "eeg")
    info.set_montage(load_montage(settings.montage, "simulation"), verbose="error")
    data, blink, dipoles = _simulate_data(info, truth, settings, rng)
    info["description"] = SIMULATED_NOTE
    raw = mne.io.RawArray(data, info, verbose="error")
    blink_raw = mne.io.RawArray(blink, info.copy(), verbose="error")
    for r in (raw, blink_raw):
        r.set_meas_date(None)
    return (
        raw,
        blink_raw,
        _simulated_truth(truth, settings, _count_blinks(blink, channels, settings.blink_amplitude), dipoles),
    )


def _simulate_data(info, truth: dict, s: SimulationSettings, rng: np.random.Generator):
    """The recording (brain + blinks + line noise + sensor noise, one dead channel) and the
    blink contribution alone, both (n_channels, n_times) in V; the dipole counts."""
    n_times = int(round(s.duration * s.sfreq))
    brain, n_dipoles, n_posterior = _brain_signal(
        info, truth, n_times, s.grid_spacing, s.eeg_rms, s.alpha_ratio, s.alpha_sd, rng
    )
    blink = _blinks(brain, info, s.blink_amplitude, rng)
    t = np.arange(n_times) / s.sfreq
    line = s.line_amplitude * np.sin(2 * np.pi * s.line_freq * t + rng.uniform(0, 2 * np.pi))
    data = brain + blink + line + s.sensor_noise * rng.standard_normal(brain.shape)
    dead = list(info["ch_names"]).index(truth["dead_channel"])
    data[dead] = s.dead_noise * rng.standard_normal(n_times)
    blink[dead] = 0.0
    return data, blink, (n_dipoles, n_posterior)


def _simulated_truth(truth: dict, s: SimulationSettings, n_blinks: int, dipoles: tuple) -> dict:
    """`truth` plus what was simulated (blink onsets count, scales, head model)."""
    out = dict(truth)
    out.update(
        {
            "simulated": True,
            "sfreq": float(s.sfreq),
            "duration": float(s.duration),
            "n_blinks": n_blinks,
            "blink_peak_amplitude_V": float(s.blink_amplitude),
            "alpha_sd_Hz": float(s.alpha_sd),
            "alpha_ratio": float(s.alpha_ratio),
            "eeg_rms_V": float(s.eeg_rms),
            "line_freq_Hz": float(s.line_freq),
            "line_amplitude_V": float(s.line_amplitude),
            "sensor_noise_V": float(s.sensor_noise),
            "n_dipoles": dipoles[0],
            "n_posterior_dipoles": dipoles[1],
            "head_model": f"MNE 4-shell sphere (make_sphere_model auto), volume grid {s.grid_spacing:g} mm",
            "montage": s.montage,
        }
    )
    return out


def _brain_signal(
    info,
    truth: dict,
    n_times: int,
    grid_spacing: float,
    eeg_rms: float,
    alpha_ratio: float,
    alpha_sd: float,
    rng: np.random.Generator,
):
    """Dipole activity (1/f everywhere, alpha behind the centre) projected to the channels,
    scaled to a median channel SD of ``eeg_rms``; also the dipole counts."""
    sfreq = info["sfreq"]
    fwd, r0 = _forward(info, grid_spacing)
    gain = fwd["sol"]["data"].reshape(len(info["ch_names"]), -1, 3)  # (n_ch, n_dip, xyz)
    rr = fwd["source_rr"]
    orient = rng.standard_normal((len(rr), 3))
    orient /= np.linalg.norm(orient, axis=1, keepdims=True)
    leadfield = np.einsum("cdk,dk->cd", gain, orient)  # (n_ch, n_dip)

    sources = colored_noise(len(rr), n_times, sfreq, truth["aperiodic_exponent"], rng)
    posterior = rr[:, 1] < r0[1] - 0.02
    alpha = narrowband_noise(
        int(posterior.sum()), n_times, sfreq, truth["alpha_peak_frequency"], alpha_sd, rng
    )
    sources[posterior] += np.sqrt(alpha_ratio) * alpha
    brain = leadfield @ sources
    brain *= eeg_rms / np.median(brain.std(axis=1))
    return brain, int(len(rr)), int(posterior.sum())


def _blinks(brain: np.ndarray, info, blink_amplitude: float, rng: np.random.Generator):
    """Blinks from MNE's eye-dipole model, scaled to ``blink_amplitude`` peak (0: none)."""
    blink = np.zeros_like(brain)
    if blink_amplitude > 0:
        zeros = mne.io.RawArray(np.zeros_like(brain), info.copy(), verbose="error")
        mne.simulation.add_eog(zeros, rng=np.random.default_rng(int(rng.integers(2**31))), verbose="error")
        blink = zeros.get_data()
        blink *= blink_amplitude / np.abs(blink).max()
    return blink


def _count_blinks(blink: np.ndarray, channels, blink_amplitude: float) -> int:
    """Blink onsets seen on Fp1/Fp2 (envelope above 20 % of the peak amplitude)."""
    frontal = blink[[list(channels).index(c) for c in ("Fp1", "Fp2") if c in channels]]
    if not (frontal.size and blink_amplitude > 0):
        return 0
    env = np.abs(frontal).max(axis=0) > 0.2 * blink_amplitude
    return int(np.sum(np.diff(env.astype(int)) == 1))
