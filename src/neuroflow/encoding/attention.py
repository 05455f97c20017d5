"""Attention-routing transformer encoder (after Adeli, Sun & Kriegeskorte 2025).

A frozen feature map ``F`` (stimulus, channel, height, width) -- e.g. DINOv2 patch tokens
of an image, computed elsewhere and read from a file -- is flattened into H*W spatial
tokens. One learned query per target region (DETR style: the learned embedding is the
query's positional part, the decoder target starts at zero) cross-attends over the tokens,
with 2-D sine positional encodings added to the keys only (``Q = LN(tgt) + q_pos``,
``K = F + pos``, ``V = F``). The decoder layer is pre-norm, cross-attention + feed-forward
only (no query self-attention), followed by a final LayerNorm. A linear readout shared by
all queries maps each region token to a prediction for every target; target ``v`` takes
the prediction of the query of its own region (``y_v = sum_q M[q, v] P[q, v]`` with M the
binary region-membership matrix; overlapping memberships are summed).

Training as in the paper's code, scaled down: AdamW (lr 5e-4, weight decay 1e-4), mini
batches, gradient-norm clipping at 0.1, StepLR; the epoch with the best mean Pearson r on a
held-out 10 % of the training stimuli (seeded) is kept. The cross-attention weights
(region x token, averaged over heads) are the routing maps.

Everything runs on the CPU or on one CUDA device; seeds fix initialisation, shuffling and
dropout, and deterministic algorithms are requested, so the same config gives the same
outputs on the same hardware.
"""

from __future__ import annotations

import copy
from dataclasses import asdict

import numpy as np

from neuroflow.progress import Progress


def sine_position_encoding(height: int, width: int, d_model: int, temperature: float = 10000.0):
    """DETR's normalised 2-D sine positional encoding (scale 2 pi).

    Returns
    -------
    torch.Tensor, shape (height * width, d_model)
        First half encodes the row (y), second half the column (x); row-major tokens.
    """
    import torch

    if d_model % 4:
        raise ValueError(f"d_model must be a multiple of 4 for the 2-D sine encoding, got {d_model}")
    n = d_model // 2
    eps, scale = 1e-6, 2 * np.pi
    y = torch.arange(1, height + 1, dtype=torch.float64)[:, None].expand(height, width)
    x = torch.arange(1, width + 1, dtype=torch.float64)[None, :].expand(height, width)
    y = y / (height + eps) * scale
    x = x / (width + eps) * scale
    dim_t = temperature ** (2 * torch.div(torch.arange(n), 2, rounding_mode="floor") / n)
    px = x[..., None] / dim_t
    py = y[..., None] / dim_t
    px = torch.stack((px[..., 0::2].sin(), px[..., 1::2].cos()), dim=3).flatten(2)
    py = torch.stack((py[..., 0::2].sin(), py[..., 1::2].cos()), dim=3).flatten(2)
    return torch.cat((py, px), dim=2).reshape(height * width, d_model).float()


def _modules():
    import torch
    from torch import nn

    class RoutingDecoderLayer(nn.Module):
        """Pre-norm decoder layer: cross-attention + feed-forward (no self-attention)."""

        def __init__(self, d_model, n_heads, dim_feedforward, dropout):
            super().__init__()
            self.norm1 = nn.LayerNorm(d_model)
            self.attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
            self.drop1 = nn.Dropout(dropout)
            self.norm2 = nn.LayerNorm(d_model)
            self.ff = nn.Sequential(
                nn.Linear(d_model, dim_feedforward),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.Linear(dim_feedforward, d_model),
            )
            self.drop2 = nn.Dropout(dropout)

        def forward(self, tgt, memory, pos, query_pos):
            q = self.norm1(tgt) + query_pos
            out, weights = self.attn(q, memory + pos, memory, need_weights=True, average_attn_weights=True)
            tgt = tgt + self.drop1(out)
            tgt = tgt + self.drop2(self.ff(self.norm2(tgt)))
            return tgt, weights

    class AttentionRoutingEncoder(nn.Module):
        """Region queries attend over feature-map tokens; a linear readout per region."""

        def __init__(
            self,
            n_channels,
            height,
            width,
            membership,
            d_model=64,
            n_heads=4,
            dim_feedforward=128,
            dropout=0.1,
            n_layers=1,
            temperature=10000.0,
        ):
            super().__init__()
            membership = torch.as_tensor(np.asarray(membership, dtype=np.float32))
            n_regions, n_targets = membership.shape
            self.input_proj = (
                nn.Conv2d(n_channels, d_model, kernel_size=1) if n_channels != d_model else nn.Identity()
            )
            self.register_buffer("pos", sine_position_encoding(height, width, d_model, temperature))
            self.register_buffer("membership", membership)
            self.query_pos = nn.Embedding(n_regions, d_model)
            self.layers = nn.ModuleList(
                RoutingDecoderLayer(d_model, n_heads, dim_feedforward, dropout) for _ in range(n_layers)
            )
            self.norm = nn.LayerNorm(d_model)
            self.readout = nn.Linear(d_model, n_targets)

        def forward(self, fmap):
            memory = self.input_proj(fmap).flatten(2).transpose(1, 2)  # (B, HW, d)
            query_pos = self.query_pos.weight.unsqueeze(0).expand(len(fmap), -1, -1)
            tgt = torch.zeros_like(query_pos)
            weights = None
            for layer in self.layers:
                tgt, weights = layer(tgt, memory, self.pos, query_pos)
            per_query = self.readout(self.norm(tgt))  # (B, R, T)
            return (per_query * self.membership).sum(dim=1), weights  # (B, T), (B, R, HW)

    return AttentionRoutingEncoder


def build_encoder(n_channels: int, height: int, width: int, membership, **kwargs):
    """An :class:`AttentionRoutingEncoder` (torch module); kwargs: d_model, n_heads,
    dim_feedforward, dropout, n_layers, temperature (of the sine positional encoding)."""
    return _modules()(n_channels, height, width, membership, **kwargs)


def membership_matrix(regions) -> tuple[np.ndarray, np.ndarray]:
    """Binary region x target membership from each target's region label.

    Returns
    -------
    membership : ndarray, shape (n_regions, n_targets)
    names : ndarray of str, shape (n_regions,)
        Sorted region names (row order).
    """
    regions = np.asarray(regions).astype(str)
    names = np.unique(regions)
    return (names[:, None] == regions[None, :]).astype(float), names


def _pearson_columns(y, yhat):
    from neuroflow.encoding.ridge import correlation

    return correlation(y, yhat)


def _scaled_split(features, responses, train_idx, validation_fraction, rng):
    """Validation split of the training stimuli and z-scoring with the fit stimuli's stats."""
    train_idx = np.asarray(train_idx)
    n_val = max(1, int(round(validation_fraction * len(train_idx))))
    perm = rng.permutation(train_idx)
    val_idx, fit_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    F = np.asarray(features, dtype=np.float32)
    Y = np.asarray(responses, dtype=np.float32).reshape(len(F), -1)
    f_mean = F[fit_idx].mean(axis=(0, 2, 3), keepdims=True)
    f_sd = F[fit_idx].std(axis=(0, 2, 3), keepdims=True)
    f_sd[f_sd == 0] = 1
    y_mean, y_sd = Y[fit_idx].mean(axis=0), Y[fit_idx].std(axis=0)
    y_sd[y_sd == 0] = 1
    scaling = {"f_mean": f_mean, "f_sd": f_sd, "y_mean": y_mean, "y_sd": y_sd}
    return (F - f_mean) / f_sd, (Y - y_mean) / y_sd, fit_idx, val_idx, scaling


def _train_epochs(model, Fz, Yz, fit_idx, val_idx, training, rng, device):
    """Mini-batch AdamW epochs; returns the validation r per epoch and the best state."""
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=training.learning_rate, weight_decay=training.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=training.lr_step, gamma=0.5)
    history, best, best_state = [], -np.inf, None
    meter = Progress(training.epochs, "epoch", f"encoding network training ({device})")
    for epoch in range(1, training.epochs + 1):
        model.train()
        order = fit_idx[rng.permutation(len(fit_idx))]
        for start in range(0, len(order), training.batch_size):
            batch = torch.as_tensor(order[start : start + training.batch_size], device=device)
            pred, _ = model(Fz[batch])
            loss = torch.nn.functional.mse_loss(pred, Yz[batch])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), training.grad_clip)
            opt.step()
        sched.step()
        model.eval()
        with torch.no_grad():
            pred, _ = model(Fz[torch.as_tensor(val_idx, device=device)])
        score = float(
            np.nanmean(
                _pearson_columns(Yz[val_idx].cpu().numpy().astype(float), pred.cpu().numpy().astype(float))
            )
        )
        history.append(score)
        if score > best:
            best, best_state = score, copy.deepcopy(model.state_dict())
        meter.update(epoch, f"validation mean r {score:.3f} (best {best:.3f})")
    return np.array(history), best_state


def train_routing_encoder(
    features, responses, regions, train_idx, *, network, training, device: str, random_state: int
) -> dict:
    """Train the encoder on ``train_idx`` stimuli; keep the epoch best on a validation split.

    Parameters
    ----------
    features : ndarray, shape (n_stimuli, n_channels, height, width)
        Frozen feature maps (z-scored per channel with training statistics here).
    responses : ndarray, shape (n_stimuli, n_targets)
        Responses (z-scored per target with training statistics; predictions are returned
        in the original units).
    regions : array of str, shape (n_targets,)
        Region of each target (one query per region).
    train_idx : ndarray of int
        Training stimuli; ``training.validation_fraction`` of them (seeded) select the epoch.
    network, training : NetworkSettings, TrainingSettings
        :mod:`neuroflow.encoding.settings` (config ``encoding.attention``).
    device : str
        torch device ('cpu', 'cuda:0').
    random_state : int
        Seeds initialisation, the validation split, batch order and dropout.

    Returns
    -------
    dict
        ``model`` (best epoch's weights, eval mode), ``history`` (validation mean r per
        epoch), ``best_epoch``, ``validation_idx``, ``scaling`` (means and SDs), ``regions``.
    """
    import os

    import torch

    if str(device).startswith("cuda"):  # deterministic cuBLAS needs a fixed workspace
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(random_state)
    torch.use_deterministic_algorithms(True, warn_only=True)
    rng = np.random.default_rng(random_state)
    Fz, Yz, fit_idx, val_idx, scaling = _scaled_split(
        features, responses, train_idx, training.validation_fraction, rng
    )
    membership, names = membership_matrix(regions)
    model = build_encoder(Fz.shape[1], Fz.shape[2], Fz.shape[3], membership, **asdict(network)).to(device)
    history, best_state = _train_epochs(
        model,
        torch.as_tensor(Fz, device=device),
        torch.as_tensor(Yz, device=device),
        fit_idx,
        val_idx,
        training,
        rng,
        device,
    )
    model.load_state_dict(best_state)
    model.eval()
    return {
        "model": model,
        "history": history,
        "best_epoch": int(np.argmax(history)),
        "validation_idx": val_idx,
        "regions": names,
        "scaling": scaling,
        "device": device,
    }


def attention_peakedness(maps, flat_entropy: float) -> dict:
    """How concentrated attention maps are, and which are flat.

    Parameters
    ----------
    maps : ndarray, shape (n_maps, height, width)
        Non-negative weights summing to 1 over each map (e.g. mean attention per region).
    flat_entropy : float
        Maps whose normalised entropy is at or above it are flat (config
        ``encoding.attention.flat_entropy``).

    Returns
    -------
    dict
        ``entropy`` (n_maps,; Shannon entropy / log(tokens): 0 = one token, 1 = uniform),
        ``peak_to_mean`` (max / mean: 1 = uniform, tokens = one token), ``flat`` (bool) and
        ``peak`` (n_maps, 2; row and column of the maximum, -1 for a flat map).
    """
    maps = np.asarray(maps, dtype=float)
    flat_maps = maps.reshape(len(maps), -1)
    p = flat_maps / flat_maps.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    entropy = -plogp.sum(axis=1) / np.log(p.shape[1])
    peak_to_mean = p.max(axis=1) * p.shape[1]
    flat = entropy >= flat_entropy
    rows, cols = np.unravel_index(np.argmax(p, axis=1), maps.shape[1:])
    peak = np.where(flat[:, None], -1, np.column_stack([rows, cols]))
    return {"entropy": entropy, "peak_to_mean": peak_to_mean, "flat": flat, "peak": peak}


def predict_routing(fit: dict, features, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Predictions (original units) and attention maps of a trained encoder.

    Returns
    -------
    prediction : ndarray, shape (n_stimuli, n_targets)
    attention : ndarray, shape (n_stimuli, n_regions, height, width)
        Cross-attention weights of the last decoder layer, averaged over heads (each map
        sums to 1).
    """
    import torch

    F = np.asarray(features, dtype=np.float32)
    s = fit["scaling"]
    Fz = torch.as_tensor((F - s["f_mean"]) / s["f_sd"], device=fit["device"])
    preds, maps = [], []
    with torch.no_grad():
        for start in range(0, len(F), batch_size):
            p, w = fit["model"](Fz[start : start + batch_size])
            preds.append(p.cpu().numpy())
            maps.append(w.cpu().numpy())
    pred = np.concatenate(preds).astype(float) * s["y_sd"] + s["y_mean"]
    att = np.concatenate(maps).astype(float).reshape(len(F), -1, F.shape[2], F.shape[3])
    return pred, att


def simulate_routing(
    n_stimuli: int = 400,
    n_channels: int = 8,
    height: int = 6,
    width: int = 6,
    fixed=None,
    n_moving: int = 1,
    targets_per_region: int = 4,
    marker: float = 4.0,
    noise: float = 0.3,
    smoothness: float = 1.0,
    random_state: int = 0,
) -> dict:
    """SIMULATED feature maps and responses where each region reads a known location.

    Feature maps are Gaussian noise smoothed over space (SD `smoothness` tokens, like the
    spatially correlated maps of a vision backbone) and z-scored per channel. A *fixed*
    region's targets are random linear read-outs of all channels at one location (the same
    for every stimulus). A *moving*
    region reads channels 1.. at the location of an "object" that changes from stimulus to
    stimulus; the object is marked by a large value (`marker`) in channel 0 there, so its
    location is visible in the content, but no fixed linear read-out of the map can follow
    it. Gaussian noise with SD ``noise`` x the signal SD is added to every target.

    Parameters
    ----------
    fixed : dict of name -> (row, col), optional
        Fixed regions (default three spread-out locations).
    n_moving : int
        Number of moving regions (named ``moving1``, ...).

    Returns
    -------
    dict
        ``features`` (n_stimuli, n_channels, height, width), ``responses``
        (n_stimuli, n_targets), ``regions`` (n_targets,), ``source`` (region -> (row, col)
        or None for moving regions), ``object_location`` (n_moving, n_stimuli, 2).
    """
    rng = np.random.default_rng(random_state)
    if fixed is None:
        fixed = {"fixedA": (1, 1), "fixedB": (height - 2, width // 2), "fixedC": (1, width - 2)}
    for name, (r, c) in fixed.items():
        if not (0 <= r < height and 0 <= c < width):
            raise ValueError(f"region {name}: location ({r}, {c}) outside the {height}x{width} map")
    F = rng.standard_normal((n_stimuli, n_channels, height, width))
    if smoothness > 0:
        from scipy.ndimage import gaussian_filter

        F = gaussian_filter(F, sigma=(0, 0, smoothness, smoothness), mode="wrap")
        F = (F - F.mean(axis=(0, 2, 3), keepdims=True)) / F.std(axis=(0, 2, 3), keepdims=True)
    responses, regions, source = [], [], {}
    for name, (r, c) in fixed.items():
        W = rng.standard_normal((n_channels, targets_per_region))
        responses.append(F[:, :, r, c] @ W)
        regions += [name] * targets_per_region
        source[name] = (int(r), int(c))
    locations = []
    for m in range(n_moving):
        loc = np.column_stack([rng.integers(0, height, n_stimuli), rng.integers(0, width, n_stimuli)])
        F[np.arange(n_stimuli), 0, loc[:, 0], loc[:, 1]] = marker
        W = rng.standard_normal((n_channels - 1, targets_per_region))
        read = F[np.arange(n_stimuli), 1:, loc[:, 0], loc[:, 1]]
        responses.append(read @ W)
        regions += [f"moving{m + 1}"] * targets_per_region
        source[f"moving{m + 1}"] = None
        locations.append(loc)
    Y = np.hstack(responses)
    Y = Y + noise * Y.std(axis=0) * rng.standard_normal(Y.shape)
    return {
        "features": F,
        "responses": Y,
        "regions": np.array(regions),
        "source": source,
        "object_location": np.array(locations).reshape(n_moving, n_stimuli, 2),
    }
