"""Simulated network instances: one architecture trained from different seeds (torch, CPU).

After the paper's DNN experiment (All-CNN-C trained from 10 seeds, RDMs of every layer on
the same 62 stimuli), scaled down to run in seconds on a laptop: a small ReLU convolutional
network (3 x 3 convolutions, 2 x 2 max-pooling after every second one, then fully
connected layers) trained on scikit-learn's 8 x 8 handwritten digits (UCI; 1797 images
shipped with scikit-learn), one instance per seed (initial weights and mini-batch order
differ). Held-out digit images (a fixed number per class) are the stimuli; every hidden
layer (after its ReLU) and the output layer (logits) give one RDM per instance.
"""

from __future__ import annotations

import json

import numpy as np

from neuroflow.rsa.settings import NetworkSettings

DIGITS_CITATION = (
    "Alpaydin E, Kaynak C (1998). Optical recognition of handwritten digits. UCI Machine "
    "Learning Repository, doi:10.24432/C50P49 (the 8 x 8 version shipped with scikit-learn "
    "as sklearn.datasets.load_digits)."
)


def digits_stimuli(stimuli_per_class: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split scikit-learn's digits into stimuli (the first k images of each class) and training.

    Returns
    -------
    images : ndarray, shape (1797, 64)
        Pixel intensities scaled to [0, 1].
    classes : ndarray, shape (1797,)
        Digit 0-9.
    stimuli : ndarray, shape (10 * stimuli_per_class,)
        Indices of the stimulus images, ordered by class (held out from training).
    """
    from sklearn.datasets import load_digits

    if not 1 <= stimuli_per_class <= 50:
        raise ValueError(
            f"config key trsa.networks.stimuli_per_class: must be in [1, 50], got {stimuli_per_class}"
        )
    images, classes = load_digits(return_X_y=True)
    images = (images / 16.0).astype(np.float32)
    stimuli = np.concatenate([np.flatnonzero(classes == c)[:stimuli_per_class] for c in range(10)])
    return images, classes, stimuli


def build_network(conv_channels, fc_units):
    """The CNN: conv(3x3, pad 1)+ReLU layers, 2x2 max-pool after every second, then FC+ReLU.

    Parameters
    ----------
    conv_channels : list of int
        Output channels of each convolution (at most 6: the 8 x 8 input is pooled to 1 x 1).
    fc_units : list of int
        Units of each fully connected hidden layer; a 10-unit linear read-out follows.
    """
    import torch

    nn = torch.nn
    if not 1 <= len(conv_channels) <= 6:
        raise ValueError(f"config key trsa.networks.conv_channels: 1 to 6 layers, got {conv_channels}")
    layers, c_in, side = [nn.Unflatten(1, (1, 8, 8))], 1, 8
    for k, c_out in enumerate(conv_channels):
        layers += [nn.Conv2d(c_in, int(c_out), 3, padding=1), nn.ReLU()]
        c_in = int(c_out)
        if k % 2 == 1:
            layers.append(nn.MaxPool2d(2))
            side //= 2
    layers.append(nn.Flatten())
    d_in = c_in * side * side
    for units in fc_units:
        layers += [nn.Linear(d_in, int(units)), nn.ReLU()]
        d_in = int(units)
    layers.append(nn.Linear(d_in, 10))
    return nn.Sequential(*layers)


def layer_names(conv_channels, fc_units) -> list[str]:
    """Names of the recorded layers: conv1.., fc1.., output."""
    return (
        [f"conv{k + 1}" for k in range(len(conv_channels))]
        + [f"fc{k + 1}" for k in range(len(fc_units))]
        + ["output"]
    )


def train_instance(
    seed: int,
    images,
    classes,
    train_idx,
    conv_channels,
    fc_units,
    epochs: int,
    batch_size: int,
    learning_rate: float,
):
    """Train one CNN instance from `seed` (Adam, cross-entropy); return it and its last loss.

    The global torch random state is left untouched (``torch.random.fork_rng``).
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_network(conv_channels, fc_units)
        order = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(net.parameters(), lr=learning_rate)
        x = torch.from_numpy(images[train_idx])
        y = torch.from_numpy(classes[train_idx].astype(np.int64))
        loss = torch.tensor(float("nan"))
        for _ in range(epochs):
            perm = torch.randperm(len(train_idx), generator=order)
            for start in range(0, len(train_idx), batch_size):
                batch = perm[start : start + batch_size]
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(net(x[batch]), y[batch])
                loss.backward()
                opt.step()
    return net, float(loss.detach())


def layer_activations(net, images) -> list[np.ndarray]:
    """Activations of each hidden layer (after ReLU) and of the output layer (logits).

    Returns
    -------
    list of ndarray, each shape (n_stimuli, n_units)
    """
    import torch

    acts = []
    with torch.no_grad():
        h = torch.from_numpy(np.ascontiguousarray(images))
        for module in net:
            h = module(h)
            if isinstance(module, torch.nn.ReLU):
                acts.append(h.reshape(len(h), -1).numpy().astype(np.float64))
        acts.append(h.numpy().astype(np.float64))
    return acts


def activation_rdm(patterns: np.ndarray, method: str = "correlation") -> np.ndarray:
    """RDM vector of activation patterns with rsatoolbox ``calc_rdm``.

    Parameters
    ----------
    patterns : ndarray, shape (n_stimuli, n_units)
    method : str
        rsatoolbox dissimilarity (``correlation``, ``euclidean``, ...).

    Returns
    -------
    ndarray, shape (n_stimuli * (n_stimuli - 1) / 2,)
        For ``correlation``, a stimulus that leaves every unit at the same value (e.g. all
        ReLUs silent) has no defined correlation: its distance to other stimuli is 1
        (r = 0, no covariation) and to another constant pattern 0.
    """
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    patterns = np.asarray(patterns, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rdm = calc_rdm(Dataset(patterns), method=method).get_vectors()[0]
    if method == "correlation":
        flat = np.ptp(patterns, axis=1) == 0
        iu = np.triu_indices(len(patterns), k=1)
        rdm = np.where(flat[iu[0]] | flat[iu[1]], 1.0, rdm)
        rdm = np.where(flat[iu[0]] & flat[iu[1]], 0.0, rdm)
    return rdm


def simulate_network_rdms(
    n_instances: int = 10,
    conv_channels=(16, 16, 32, 32),
    fc_units=(64, 64),
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    stimuli_per_class: int = 4,
    rdm_method: str = "correlation",
    random_state: int = 0,
):
    """Train `n_instances` CNNs from seeds ``random_state + i`` and return their layer RDMs.

    Returns
    -------
    xarray.Dataset
        ``rdm`` (instance, layer, pair): dissimilarities (1 - Pearson r for
        ``correlation``); ``test_accuracy`` (instance): accuracy on the held-out stimuli;
        ``final_loss`` (instance); ``activation_<layer>`` (instance, stimulus,
        unit_<layer>; float32): each layer's responses, for activation-space noise;
        coordinates ``stimulus`` (digit image index in
        scikit-learn's set, with ``stimulus_class``), ``stimulus_i``/``stimulus_j`` on
        ``pair``. Labelled simulated in its attributes; ``parameters`` holds the settings
        (JSON).
    """
    settings = NetworkSettings(
        n_instances=n_instances,
        conv_channels=tuple(conv_channels),
        fc_units=tuple(fc_units),
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        stimuli_per_class=stimuli_per_class,
        rdm_method=rdm_method,
        random_state=random_state,
    )
    _check_sizes(settings)
    images, classes, stimuli = digits_stimuli(stimuli_per_class)
    train_idx = np.setdiff1d(np.arange(len(classes)), stimuli)
    trained = _train_instances(settings, images, classes, train_idx, stimuli)
    ds = _network_dataset(settings, *trained, classes, stimuli, len(train_idx))
    ds.attrs["parameters"] = json.dumps(settings.parameters(), sort_keys=True)
    return ds


def _check_sizes(s: NetworkSettings) -> None:
    for key, value in (
        ("n_instances", s.n_instances),
        ("epochs", s.epochs),
        ("batch_size", s.batch_size),
        *(("conv_channels", c) for c in s.conv_channels),
        *(("fc_units", u) for u in s.fc_units),
    ):
        if int(value) < (2 if key == "n_instances" else 1):
            raise ValueError(f"config key trsa.networks.{key}: too small ({value})")


def _train_instances(s: NetworkSettings, images, classes, train_idx, stimuli):
    """Train every instance (one torch thread) and record its layers' responses to the
    stimuli. Returns ``(rdms, accuracies, losses, activations)``, one entry per instance."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # bit-reproducible and polite on shared machines
    try:
        rdms, accs, losses, activations = [], [], [], []
        for i in range(s.n_instances):
            net, loss = train_instance(
                s.random_state + i,
                images,
                classes,
                train_idx,
                s.conv_channels,
                s.fc_units,
                s.epochs,
                s.batch_size,
                s.learning_rate,
            )
            acts = layer_activations(net, images[stimuli])
            accs.append(float(np.mean(acts[-1].argmax(axis=1) == classes[stimuli])))
            losses.append(loss)
            rdms.append([activation_rdm(a, s.rdm_method) for a in acts])
            activations.append(acts)
    finally:
        torch.set_num_threads(threads)
    return rdms, accs, losses, activations


def _network_dataset(s: NetworkSettings, rdms, accs, losses, activations, classes, stimuli, n_train: int):
    """The Dataset of :func:`simulate_network_rdms` (see there)."""
    import xarray as xr

    iu = np.triu_indices(len(stimuli), k=1)
    layers = layer_names(s.conv_channels, s.fc_units)
    ds = xr.Dataset(
        {
            "rdm": (("instance", "layer", "pair"), np.array(rdms)),
            "test_accuracy": (("instance",), np.array(accs)),
            "final_loss": (("instance",), np.array(losses)),
        },
        coords={
            "instance": np.arange(s.n_instances) + s.random_state,
            "layer": layers,
            "pair": np.arange(len(iu[0])),
            "stimulus": stimuli,
            "stimulus_class": ("stimulus", classes[stimuli]),
            "stimulus_i": ("pair", stimuli[iu[0]]),
            "stimulus_j": ("pair", stimuli[iu[1]]),
        },
    )
    for k, layer in enumerate(layers):
        name = f"activation_{layer}"
        ds[name] = (
            ("instance", "stimulus", f"unit_{layer}"),
            np.array([a[k] for a in activations], dtype=np.float32),
        )
        ds[name].attrs.update(
            units="activation (after ReLU; logits for the output layer)",
            description=f"layer {layer}'s response to each stimulus (for "
            "the activation-space noise analysis)",
        )
    ds["rdm"].attrs.update(
        units=f"{s.rdm_method} distance (rsatoolbox calc_rdm)",
        description="upper-triangle RDM vector of the layer's activations to the stimuli (squareform order)",
    )
    ds["test_accuracy"].attrs.update(units="fraction correct on the held-out stimuli")
    ds["final_loss"].attrs.update(units="cross-entropy (nats), last training mini-batch")
    ds["instance"].attrs.update(description="training seed of the network instance")
    ds.attrs.update(
        simulated=np.int8(1),
        title="SIMULATED: layer RDMs of CNN instances trained "
        "from different seeds on scikit-learn's 8x8 digits",
        architecture=f"CNN conv {list(map(int, s.conv_channels))} (3x3, ReLU, 2x2 "
        f"max-pool after every 2nd), fc {list(map(int, s.fc_units))} "
        "(ReLU), linear read-out 10",
        training=f"Adam lr={s.learning_rate}, {s.epochs} epochs, batch {s.batch_size}, "
        f"{n_train} training images",
        stimuli=f"{s.stimuli_per_class} held-out images per digit class",
        rdm_method=s.rdm_method,
        random_state=s.random_state,
        digits_citation=DIGITS_CITATION,
    )
    return ds
