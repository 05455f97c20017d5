"""SCLCS: structure learner, contrastive training and the Structural Perturbation Score.

Re-implemented from the description in Zhan et al. (ICLR 2026; notes in METHODS.md section 2)
- no code of the authors' unlicensed repository is used.

Model (:class:`StructureLearner`), input X (B, N regions, D time points):

1. X^ = LayerNorm_D(X);
2. per head h: Q_h = X^ W_Q^h, K_h = X^ W_K^h (D -> d); A_h = Q_h K_h^T / sqrt(D) (no softmax);
3. A = sum_h softmax(alpha)_h A_h, alpha learnable (init 1): the sample's learned FC structure;
4. H1 = W_o (A X^ W_V); H2 = H1 + MLP(LayerNorm_d(H1)) (Linear d->4d, GELU, Dropout,
   Linear 4d->d, Dropout);
5. z = mean over nodes of H2.

Training (:func:`train_sps`): each epoch shuffles the subjects with >= 2 windows, and each
batch takes ``batch_subjects`` subjects x 2 random windows of each. Loss = multi-positive
InfoNCE on normalized z with temperature tau (positives: the other windows of the same
subject; negatives: windows of other subjects, plus the anchor itself when
``self_in_negatives`` - the authors' code does this) + ``sparsity`` x mean |A|. Adam.

After every step, A of every sample in the batch is compared with that sample's A at its
previous appearance: SPS(x_i) = mean over consecutive appearances of ||A^(e+1) - A^(e)||_F
(infinite for samples seen fewer than twice). Lower = more stable.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuroflow.progress import Progress


def _torch():
    import torch

    return torch


def pick_device(requested: str = "auto", gpus: int = 0) -> str:
    """Torch device name: ``cuda`` if requested/allowed (``gpus`` > 0 or "cuda") and available."""
    torch = _torch()
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"config key fc.sclcs.device: expected auto, cpu or cuda, got {requested!r}")
    if requested == "cpu":
        return "cpu"
    if torch.cuda.is_available() and (requested == "cuda" or gpus > 0):
        return "cuda"
    return "cpu"


def build_model(n_time: int, heads: int = 16, dim: int = 32, dropout: float = 0.1):
    """The structure learner (a ``torch.nn.Module``); see the module docstring."""
    torch = _torch()
    nn = torch.nn

    class StructureLearner(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads, self.dim, self.n_time = heads, dim, n_time
            self.norm_in = nn.LayerNorm(n_time)
            self.q = nn.Linear(n_time, heads * dim)
            self.k = nn.Linear(n_time, heads * dim)
            self.alpha = nn.Parameter(torch.ones(heads))
            self.v = nn.Linear(n_time, dim)
            self.o = nn.Linear(dim, dim)
            self.norm_h = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(
                nn.Linear(dim, 4 * dim),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(4 * dim, dim),
                nn.Dropout(dropout),
            )

        def forward(self, x):
            b, n, _ = x.shape
            xh = self.norm_in(x)
            q = self.q(xh).view(b, n, self.heads, self.dim).transpose(1, 2)
            k = self.k(xh).view(b, n, self.heads, self.dim).transpose(1, 2)
            a_heads = q @ k.transpose(-1, -2) / math.sqrt(self.n_time)
            w = torch.softmax(self.alpha, dim=0)
            A = (w[None, :, None, None] * a_heads).sum(1)
            h1 = self.o(A @ self.v(xh))
            h2 = h1 + self.mlp(self.norm_h(h1))
            return h2.mean(1), A

    return StructureLearner()


def contrastive_loss(z, subjects, tau: float = 0.1, self_in_negatives: bool = True):
    """Multi-positive InfoNCE: mean over anchors with >= 1 positive of
    -(logsumexp_{P(i)} s_ij - logsumexp_{N(i)} s_ij), s_ij = <z_i, z_j> / tau (z normalized)."""
    torch = _torch()
    zn = torch.nn.functional.normalize(z, dim=1)
    s = zn @ zn.T / tau
    same = subjects[:, None] == subjects[None, :]
    eye = torch.eye(len(subjects), dtype=torch.bool, device=z.device)
    pos = same & ~eye
    neg = ~same | eye if self_in_negatives else ~same
    neg_inf = torch.finfo(s.dtype).min
    lp = torch.logsumexp(s.masked_fill(~pos, neg_inf), dim=1)
    ln = torch.logsumexp(s.masked_fill(~neg, neg_inf), dim=1)
    has = pos.any(dim=1)
    return -(lp - ln)[has].mean()


@contextlib.contextmanager
def _torch_state(seed: int, threads: int, device: str):
    """Seed torch locally (the global RNG state is restored afterwards), fix threads."""
    torch = _torch()
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    devices = [torch.device(device)] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        torch.set_num_threads(max(1, threads))
        torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield torch
        finally:
            torch.set_num_threads(old_threads)
            torch.use_deterministic_algorithms(old_det)


def _check_samples(X, subjects):
    """``X`` as float32, subject codes per sample, and the sample indices of every subject
    with >= 2 windows (at least two such subjects are needed)."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise ValueError(f"SCLCS: samples must be (n, regions, time), got shape {X.shape}")
    codes = np.unique(np.asarray(subjects), return_inverse=True)[1]
    groups = [np.flatnonzero(codes == c) for c in range(codes.max() + 1)]
    eligible = [g for g in groups if g.size >= 2]
    if len(eligible) < 2:
        raise ValueError("SCLCS: need >= 2 subjects with >= 2 windows each")
    return X, codes, eligible


@dataclass
class _Fit:
    """What a training step uses: torch, the device, the model, its optimiser, the samples
    and their subject codes on the device, and the loss of (z, codes, A)."""

    torch: Any
    dev: Any
    model: Any
    opt: Any
    data: Any
    codes: Any
    loss: Callable


@dataclass
class _Appearances:
    """Each sample's A at its previous appearance (on the device), how often it was seen,
    and its summed ||A^(e+1) - A^(e)||_F."""

    prev: Any
    seen: np.ndarray
    delta_sum: np.ndarray

    def update(self, torch, idx, idx_t, A, dev):
        """Record the batch's A (detached); ||Delta A||_F of its samples seen before, or None."""
        again = self.seen[idx] > 0
        d = None
        if again.any():
            d = torch.linalg.matrix_norm(
                A[torch.from_numpy(again).to(dev)] - self.prev[idx_t[torch.from_numpy(again).to(dev)]]
            )
            d = d.double().cpu().numpy()
            np.add.at(self.delta_sum, idx[again], d)
        self.prev[idx_t] = A
        self.seen[idx] += 1
        return d


def _batches(gen, eligible, batch_subjects: int):
    """One epoch's batches (sample indices): the subjects shuffled, ``batch_subjects`` at a
    time (a last chunk of one subject is skipped), 2 random windows of each."""
    order = gen.permutation(len(eligible))
    for start in range(0, len(order), batch_subjects):
        chunk = order[start : start + batch_subjects]
        if chunk.size < 2:
            continue
        yield np.concatenate([gen.choice(eligible[c], size=2, replace=False) for c in chunk])


def _train_epoch(fit: _Fit, batches, track: _Appearances):
    """One epoch of Adam steps; (mean loss over its steps, the ||Delta A||_F arrays)."""
    torch, dev = fit.torch, fit.dev
    ep_loss, ep_steps, ep_delta = 0.0, 0, []
    for idx in batches:
        idx_t = torch.from_numpy(idx).to(dev)
        z, A = fit.model(fit.data[idx_t])
        loss = fit.loss(z, fit.codes[idx_t], A)
        fit.opt.zero_grad()
        loss.backward()
        fit.opt.step()
        ep_loss += float(loss.detach())
        ep_steps += 1
        d = track.update(torch, idx, idx_t, A.detach(), dev)
        if d is not None:
            ep_delta.append(d)
    return ep_loss / max(ep_steps, 1), ep_delta


def train_sps(
    X,
    subjects,
    *,
    seed: int = 0,
    epochs: int = 1000,
    batch_subjects: int = 64,
    lr: float = 1e-3,
    tau: float = 0.1,
    sparsity: float = 1e-4,
    heads: int = 16,
    dim: int = 32,
    dropout: float = 0.1,
    self_in_negatives: bool = True,
    device: str = "cpu",
    threads: int = 1,
    log=print,
) -> dict:
    """Train the structure learner contrastively and return the SPS of every sample.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_regions, n_times)
    subjects : array of str, shape (n_samples,)
    seed : int
        Seeds model initialization, dropout, subject shuffling and window draws.
    epochs, batch_subjects, lr, tau, sparsity, heads, dim, dropout, self_in_negatives
        See the module docstring (defaults: the paper's code).
    device : str
        ``cpu`` or ``cuda``; CPU runs with fixed ``threads`` are bit-reproducible.
    log : callable
        Receives the closing line; progress with an ETA (every 10 % of the epochs or 30 s)
        goes to the log through :mod:`neuroflow.progress`.

    Returns
    -------
    dict
        ``sps`` (n_samples,) float, inf for samples seen < 2 times; ``appearances``
        (n_samples,) int; ``loss`` (epochs,) mean loss per epoch; ``delta`` (epochs,) mean
        ||Delta A||_F over the samples updated in that epoch (NaN if none).
    """
    X, codes, eligible = _check_samples(X, subjects)
    n = X.shape[0]
    with _torch_state(seed, threads, device) as torch:
        gen = np.random.default_rng(seed)
        dev = torch.device(device)
        model = build_model(X.shape[2], heads, dim, dropout).to(dev)
        fit = _Fit(
            torch,
            dev,
            model,
            torch.optim.Adam(model.parameters(), lr=lr),
            torch.from_numpy(X).to(dev),
            torch.from_numpy(codes).to(dev),
            lambda z, c, A: contrastive_loss(z, c, tau, self_in_negatives) + sparsity * A.abs().mean(),
        )
        track = _Appearances(
            torch.zeros((n, X.shape[1], X.shape[1]), device=dev), np.zeros(n, dtype=int), np.zeros(n)
        )
        losses, deltas = np.zeros(epochs), np.full(epochs, np.nan)
        model.train()
        meter = Progress(epochs, "epoch", f"SCLCS training, seed {seed} ({n} samples, {device})")
        for epoch in range(epochs):
            losses[epoch], ep_delta = _train_epoch(fit, _batches(gen, eligible, batch_subjects), track)
            if ep_delta:
                deltas[epoch] = float(np.concatenate(ep_delta).mean())
            meter.update(epoch + 1, f"loss {losses[epoch]:.4f}")
    log(f"SCLCS seed {seed}: {epochs} epochs, final loss {losses[-1]:.4f}")
    seen = track.seen
    with np.errstate(divide="ignore", invalid="ignore"):
        sps = np.where(seen >= 2, track.delta_sum / np.maximum(seen - 1, 1), np.inf)
    return {"sps": sps, "appearances": seen, "loss": losses, "delta": deltas}
