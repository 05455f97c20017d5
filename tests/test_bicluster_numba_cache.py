"""Same config + same seed = the same bytes, whether the sampler's kernels were just
compiled or loaded from numba's on-disk cache (issue 21: "compile once"; the first job of
a run compiles, every later job loads). With LLVM's fast-math contraction (fused
multiply-add) or reassociation allowed, a freshly compiled kernel and the same kernel
loaded from the cache rounded differently (chains differed by 1e-7, then 1e-13, in their
draws, so a forced rerun did not reproduce the first run's files)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

KERNELS = """
import hashlib
import numpy as np
from neuroflow.bicluster import _linalg as la
rng = np.random.default_rng(0)
out = []
for n in (3, 7, 10):
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    v = rng.standard_normal(n)
    s = a @ a.T + n * np.eye(n)
    out += [la.mm(a, b), la.mv(a, v), la.spd_inverse(s), la.solve(s, b), np.array([la.quad(v, s, v)])]
print(hashlib.sha256(b"".join(x.tobytes() for x in out)).hexdigest())
"""


def test_kernels_compiled_and_loaded_from_the_cache_give_the_same_bits(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "PYTHONPATH": str(ROOT / "src")}
    runs = [
        subprocess.run([sys.executable, "-c", KERNELS], env=env, capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert any((tmp_path / "numba").rglob("*.nbi"))  # the second run loaded the first's code
    assert runs[0].stdout == runs[1].stdout
