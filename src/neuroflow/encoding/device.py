"""Compute device: chosen once from config, logged, and recorded next to every output.

``device: auto`` uses the first visible CUDA device when torch sees one (a job that
Snakemake/SLURM started with ``CUDA_VISIBLE_DEVICES`` set only sees the devices it was
given; ``CUDA_VISIBLE_DEVICES=""`` or ``-1`` hides them all), else the CPU. ``cpu`` never
touches CUDA; ``cuda`` fails when none is visible. The himalaya backend follows the device
unless the config names one (``numpy``, ``torch``, ``torch_cuda``).

Snakemake's ``benchmark:`` files have no GPU fields, so each output gets a ``Compute``
record: device kind and name, himalaya backend and the peak GPU memory the
job allocated (``"n/a"`` on the CPU). Wall-clock times are printed to the rule's log only,
so that outputs stay byte-identical across runs.
"""

from __future__ import annotations

import contextlib
import glob
import os

DEVICES = ("auto", "cpu", "cuda")
BACKENDS = ("auto", "numpy", "torch", "torch_cuda")


def _cuda_hidden() -> bool:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return visible is not None and visible.strip() in ("", "-1")


def _nvidia_driver_present() -> bool:
    """Cheap check before importing torch (seconds) on machines without an NVIDIA driver."""
    return os.path.exists("/proc/driver/nvidia/version") or bool(glob.glob("/dev/nvidia[0-9]*"))


def select_device(device: str = "auto", backend: str = "auto", key: str = "encoding.device") -> dict:
    """Resolve the configured device and himalaya backend.

    Parameters
    ----------
    device : {'auto', 'cpu', 'cuda'}
        ``auto``: CUDA when torch sees a visible device, else CPU.
    backend : {'auto', 'numpy', 'torch', 'torch_cuda'}
        himalaya backend; ``auto`` is ``torch_cuda`` on CUDA and ``numpy`` on the CPU.
    key : str
        Config key named in errors.

    Returns
    -------
    dict
        ``device`` ('cpu' or 'cuda'), ``torch_device`` ('cpu' or 'cuda:0', the first
        *visible* device), ``device_name`` (GPU model or 'cpu') and ``backend``.
    """
    if device not in DEVICES:
        raise ValueError(f"config key {key}: expected one of {DEVICES}, got {device!r}")
    if backend not in BACKENDS:
        raise ValueError(
            f"config key {key.rsplit('.', 1)[0]}.backend: expected one of {BACKENDS}, got {backend!r}"
        )
    cuda = False
    if device != "cpu" and not _cuda_hidden() and (device == "cuda" or _nvidia_driver_present()):
        import torch

        cuda = bool(torch.cuda.is_available())
    if device == "cuda" and not cuda:
        raise RuntimeError(
            f"config key {key} is 'cuda' but no CUDA device is visible "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}); "
            "use 'auto' to fall back to the CPU"
        )
    if backend == "torch_cuda" and not cuda:
        raise RuntimeError(
            f"config key {key.rsplit('.', 1)[0]}.backend is 'torch_cuda' but the device is the CPU"
        )
    if cuda:
        import torch

        name = torch.cuda.get_device_name(0)
    else:
        name = "cpu"
    if backend == "auto":
        backend = "torch_cuda" if cuda else "numpy"
    return {
        "device": "cuda" if cuda else "cpu",
        "torch_device": "cuda:0" if cuda else "cpu",
        "device_name": name,
        "backend": backend,
    }


def describe(dev: dict) -> str:
    """One log line naming the device and backend (printed once per job)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
    return (
        f"neuroflow.encoding: device {dev['device']} ({dev['device_name']}), himalaya "
        f"backend {dev['backend']}, CUDA_VISIBLE_DEVICES={visible}"
    )


@contextlib.contextmanager
def himalaya_backend(name: str):
    """Set himalaya's (global) backend inside the block, restore the previous one after."""
    from himalaya.backend import get_backend, set_backend

    previous = get_backend().name
    set_backend(name, on_error="raise")
    try:
        yield
    finally:
        set_backend(previous, on_error="warn")


@contextlib.contextmanager
def compute_record(dev: dict):
    """Yield a dict filled, on exit, with the device and the peak GPU memory of the block.

    Keys: ``device``, ``device_name``, ``backend`` and
    ``peak_gpu_memory_mib`` (MiB allocated by torch on the device at its peak, or
    ``"n/a"`` on the CPU).
    """
    record = {
        "device": dev["device"],
        "device_name": dev["device_name"],
        "backend": dev["backend"],
        "peak_gpu_memory_mib": "n/a",
    }
    cuda = dev["device"] == "cuda"
    if cuda:
        import torch

        torch.cuda.reset_peak_memory_stats()
    try:
        yield record
    finally:
        if cuda:
            import torch

            torch.cuda.synchronize()
            record["peak_gpu_memory_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
