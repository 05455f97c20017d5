"""Progress of long loops (MCMC sweeps, training epochs) in the job's log, with an ETA.

:class:`Progress` writes one line when another ``every_fraction`` of the work is done or
``every_seconds`` have passed since the last line, whichever comes first, and at the end::

    bi-clustering chain 1 (sub-01_counts.nc): sweep 400/2000 (20 %), 12.3 sweeps/s, ETA 2 min 10 s
    ...
    bi-clustering chain 1 (sub-01_counts.nc): sweep 2000/2000 (100 %), 12.1 sweeps/s, done in 2 min 45 s

The rate is the mean since the meter was made; the ETA is the work left at that rate. Lines
go through :mod:`logging` (logger ``neuroflow.progress``, level INFO) to the ``sys.stderr``
of the moment, which the rule scripts redirect into the job's log (neuroflow.rulelog), so
they land where Snakemake's ``log:`` file is. Only the clock is read: outputs, random
states and data are untouched.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable

LOGGER_NAME = "neuroflow.progress"


class _CurrentStderr(logging.StreamHandler):
    """A stream handler writing to ``sys.stderr`` as it is at each record (a rule script's
    ``redirect_to_log`` swaps it for the job's log file after this module is imported)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ assigns it; the current one is used
        pass


def progress_logger() -> logging.Logger:
    """The ``neuroflow.progress`` logger, with its stderr handler attached once."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, _CurrentStderr) for h in logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return logger


def format_duration(seconds: float) -> str:
    """``"45 s"``, ``"2 min 10 s"``, ``"1 h 05 min"`` (rounded to whole seconds)."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _number(x: float) -> str:
    """Three significant digits, no exponent: ``12.3``, ``0.25``, ``1234``."""
    return f"{x:.0f}" if x >= 100 else f"{x:.3g}"


class Progress:
    """Report ``done/total`` steps of a loop at a steady rate, with speed and ETA.

    Parameters
    ----------
    total : int
        Steps in the loop (> 0).
    what : str
        The step's name, singular (``"sweep"``, ``"epoch"``); the rate adds an ``s``.
    label : str
        What runs (the job), at the start of every line.
    every_fraction : float
        A line whenever another this share of ``total`` is done (0.1: at 10 %, 20 %, ...).
    every_seconds : float
        ... or when this many seconds passed since the last line, whichever comes first.
    clock : callable
        Seconds (monotonic); tests pass a fake one.
    logger : logging.Logger, optional
        Defaults to :func:`progress_logger`.
    """

    def __init__(
        self,
        total: int,
        what: str,
        label: str,
        *,
        every_fraction: float = 0.1,
        every_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
    ):
        if total < 1:
            raise ValueError(f"progress of {label}: total must be >= 1, got {total}")
        if not 0 < every_fraction <= 1 or every_seconds <= 0:
            raise ValueError(
                f"progress of {label}: every_fraction must be in (0, 1] and "
                f"every_seconds > 0, got {every_fraction}, {every_seconds}"
            )
        self.total, self.what, self.label = int(total), what, label
        self.every_seconds, self.clock = every_seconds, clock
        self.logger = logger or progress_logger()
        self._step = max(1, math.ceil(total * every_fraction))
        self._next = self._step
        self.start = self._last = clock()

    def update(self, done: int, detail: str = "") -> str | None:
        """Record that ``done`` steps are finished; returns the line written, if one was due."""
        now = self.clock()
        if not (done >= self._next or done >= self.total or now - self._last >= self.every_seconds):
            return None
        self._next = (done // self._step + 1) * self._step
        self._last = now
        line = self.line(done, now - self.start)
        if detail:
            line += f"; {detail}"
        self.logger.info(line)
        return line

    def line(self, done: int, elapsed: float) -> str:
        """``label: what done/total (pct %), rate, ETA ...`` for ``elapsed`` seconds."""
        head = f"{self.label}: {self.what} {done}/{self.total} ({100 * done // self.total} %)"
        if done <= 0 or elapsed <= 0:
            return f"{head}, rate not yet known"
        rate = done / elapsed
        speed = f"{_number(rate)} {self.what}s/s" if rate >= 1 else f"{_number(1 / rate)} s/{self.what}"
        if done >= self.total:
            return f"{head}, {speed}, done in {format_duration(elapsed)}"
        return f"{head}, {speed}, ETA {format_duration((self.total - done) / rate)}"
