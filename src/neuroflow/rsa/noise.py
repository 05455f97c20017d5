"""Noise models for the identification analyses (Lin & Kriegeskorte 2023 and sensitivity checks).

Three ways of making the RDMs noisy, all seeded by a ``numpy.random.Generator``:

* ``pooled`` (the authors' ``cnn62_g_0p{n}`` data): Gaussian noise added to every RDM entry,
  SD = level x SD of *all* entries of the stack pooled, negatives set to 0. When the RDMs'
  means differ between regions / layers, the pooled SD exceeds each RDM's own SD (see
  :func:`sd_ratio`), so a given level buries each RDM's structure more than its name says.
* ``scaled``: as ``pooled`` but the SD is level x the SD of *that* RDM's entries.
* ``activation``: Gaussian noise added to the activation patterns before the RDM is
  computed, SD = level x the SD of that (instance, layer)'s activations; the RDM is then
  recomputed with the stack's dissimilarity (correlation or rsatoolbox's euclidean).
  Only for stacks that carry their activations (the simulated networks).
"""

from __future__ import annotations

import numpy as np

NOISE_MODELS = ("pooled", "scaled", "activation")
NOISE_LABELS = {
    "pooled": "RDM entries, SD = level x SD of all entries pooled (the authors' protocol)",
    "scaled": "RDM entries, SD = level x SD of each RDM's own entries",
    "activation": "activations before the RDM, SD = level x SD of each layer's activations",
}


def add_rdm_noise(vectors, level: float, rng: np.random.Generator) -> np.ndarray:
    """The paper's RDM noise: Gaussian, SD = `level` x SD of all entries; negatives -> 0.

    Parameters
    ----------
    vectors : array_like, shape (n_rdm, n_pairs)
    level : float
        Noise SD in units of the SD of all entries of the stack.

    Returns
    -------
    ndarray, shape (n_rdm, n_pairs)
    """
    vectors = np.asarray(vectors, dtype=float)
    if level == 0:
        return vectors.copy()
    noisy = vectors + rng.normal(0.0, level * vectors.std(), size=vectors.shape)
    return np.clip(noisy, 0.0, None)


def add_scaled_rdm_noise(vectors, level: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian RDM noise with SD = `level` x each RDM's own SD; negatives -> 0.

    Returns
    -------
    ndarray, shape (n_rdm, n_pairs)
    """
    vectors = np.asarray(vectors, dtype=float)
    if level == 0:
        return vectors.copy()
    sd = vectors.std(axis=1, keepdims=True)
    noisy = vectors + rng.normal(0.0, 1.0, size=vectors.shape) * (level * sd)
    return np.clip(noisy, 0.0, None)


def patterns_rdm(patterns, method: str) -> np.ndarray:
    """RDM vectors of stacks of activation patterns, as rsatoolbox ``calc_rdm`` computes them.

    Parameters
    ----------
    patterns : ndarray, shape (n_rdm, n_stimuli, n_units)
    method : {"correlation", "euclidean"}
        ``correlation``: 1 - Pearson r between two stimuli's patterns; ``euclidean``:
        rsatoolbox's squared Euclidean distance divided by the number of units.

    Returns
    -------
    ndarray, shape (n_rdm, n_stimuli * (n_stimuli - 1) / 2)
        Squareform order. Patterns must not be constant (noisy patterns never are).
    """
    x = np.asarray(patterns, dtype=float)
    n_stim, n_units = x.shape[1], x.shape[2]
    iu = np.triu_indices(n_stim, k=1)
    if method == "correlation":
        x = x - x.mean(axis=2, keepdims=True)
        x = x / np.linalg.norm(x, axis=2, keepdims=True)
        return 1.0 - np.einsum("bik,bjk->bij", x, x)[:, iu[0], iu[1]]
    if method == "euclidean":
        sq = np.einsum("bik,bik->bi", x, x)
        gram = np.einsum("bik,bjk->bij", x, x)
        dist = (sq[:, :, None] + sq[:, None, :] - 2 * gram) / n_units
        return dist[:, iu[0], iu[1]]
    raise ValueError(f"activation noise: rdm_method must be correlation or euclidean, got {method!r}")


def add_activation_noise(activations, level: float, rng: np.random.Generator, method: str) -> np.ndarray:
    """RDMs of activations with Gaussian noise, SD = `level` x SD of each (instance, layer).

    Parameters
    ----------
    activations : list of ndarray
        One per layer (region), shape (n_subjects, n_stimuli, n_units_of_layer).
    level : float
    method : {"correlation", "euclidean"}

    Returns
    -------
    ndarray, shape (n_subjects * n_layers, n_pairs)
        Rows in the order of :func:`neuroflow.rsa.identification._design` (subject-major).
    """
    per_layer = []
    for act in activations:
        act = np.asarray(act, dtype=float)
        sd = act.reshape(len(act), -1).std(axis=1)[:, None, None]
        per_layer.append(patterns_rdm(act + rng.normal(size=act.shape) * (level * sd), method))
    return np.stack(per_layer, axis=1).reshape(-1, per_layer[0].shape[1])


def noisy_vectors(
    model: str, level: float, vectors, rng: np.random.Generator, activations=None, method: str = "correlation"
) -> np.ndarray:
    """One noise draw of the RDM stack under `model` (level 0 returns the clean RDMs).

    Parameters
    ----------
    model : {"pooled", "scaled", "activation"}
    vectors : ndarray, shape (n_subjects * n_regions, n_pairs)
        The clean RDMs (subject-major rows).
    activations : list of ndarray, optional
        Needed for ``activation``; see :func:`add_activation_noise`.
    """
    if model == "pooled":
        return add_rdm_noise(vectors, level, rng)
    if model == "scaled":
        return add_scaled_rdm_noise(vectors, level, rng)
    if model != "activation":
        raise ValueError(f"noise model must be one of {NOISE_MODELS}, got {model!r}")
    if activations is None:
        raise ValueError("activation noise needs the activations of the RDM stack")
    if level == 0:
        return np.asarray(vectors, dtype=float).copy()
    return add_activation_noise(activations, level, rng, method)


def sd_ratio(vectors) -> float:
    """SD of all entries pooled / median of each RDM's own SD (1 when RDMs share a mean).

    Parameters
    ----------
    vectors : array_like, shape (n_rdm, n_pairs)
    """
    vectors = np.asarray(vectors, dtype=float)
    within = np.median(vectors.std(axis=1))
    return float(vectors.std() / within) if within > 0 else float("inf")


def rdm_noise(clean, noisy) -> float:
    """Median over RDMs of SD(noisy - clean) / SD(clean): noise in each RDM's own units.

    Makes the three noise models comparable: for ``pooled`` it is about level x
    :func:`sd_ratio`, for ``scaled`` about level (less where negatives were clipped).
    """
    clean, noisy = np.asarray(clean, dtype=float), np.asarray(noisy, dtype=float)
    sd = clean.std(axis=1)
    ok = sd > 0
    return float(np.median((noisy - clean).std(axis=1)[ok] / sd[ok])) if ok.any() else 0.0
