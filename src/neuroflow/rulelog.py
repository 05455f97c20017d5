"""Logging for rule scripts: everything a script prints, and its traceback, goes to the log."""

from __future__ import annotations

import contextlib
import sys
import traceback
from pathlib import Path


@contextlib.contextmanager
def redirect_to_log(path, append: bool = False):
    """Send stdout/stderr to ``path`` (Snakemake's ``log:``; ``append``: after what it holds);
    record any exception there too.

    The exception is re-raised so the job fails and Snakemake removes its outputs.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(path, "a" if append else "w") as fh,
        contextlib.redirect_stdout(fh),
        contextlib.redirect_stderr(fh),
    ):
        try:
            yield
        except BaseException as exc:
            traceback.print_exc(file=fh)
            fh.flush()
            print(f"neuroflow: {type(exc).__name__}: {exc} (details in {path})", file=sys.__stderr__)
            raise
