"""Simulated representations of known topology: closed rings and open arcs.

Each "subject" has one ring (points around a closed curve) and one arc (the same curve
opened: 300 of 360 degrees); both receive the same random geometric distortions (axis
stretch, overall scale, uneven spacing, an out-of-plane twist, isotropic noise). The
topology (closed vs open) is the ground truth; the geometry varies across subjects. A
statistic that captures topology identifies ring vs arc across subjects better than the
plain RDM (Lin & Kriegeskorte 2023, their toy rings and figure-8s).
"""

from __future__ import annotations

import numpy as np


def curve_points(closed: bool, n_points: int, distortion: float, rng: np.random.Generator) -> np.ndarray:
    """Points along a distorted closed (360 deg) or open (300 deg) curve.

    Parameters
    ----------
    closed : bool
    n_points : int
    distortion : float
        Scale of the random geometric distortions (0 = the unit circle / arc).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n_points, 3)
        Coordinates (arbitrary units), in order along the curve.
    """
    extent = 2 * np.pi if closed else np.radians(300)
    u = np.arange(n_points) / (n_points if closed else n_points - 1)
    u = u + 0.3 * distortion * rng.uniform(-1, 1) * np.sin(2 * np.pi * u) / (2 * np.pi)
    t = u * extent
    pts = np.c_[np.cos(t), np.sin(t), np.zeros(n_points)]
    pts = pts * np.r_[rng.uniform(1, 1 + 2 * distortion), rng.uniform(1, 1 + distortion), 1]
    pts[:, 2] += distortion * rng.uniform(-1, 1) * np.sin(2 * t)
    pts *= rng.uniform(1, 1 + distortion)
    return pts + rng.normal(0.0, 0.05, pts.shape)


def ring_and_arc_rdms(
    n_subjects: int = 12, n_points: int = 30, distortion: float = 1.0, random_state: int = 0
):
    """Euclidean RDMs of one ring and one arc per simulated subject.

    Returns
    -------
    rdms : ndarray, shape (n_subjects, 2, n_points * (n_points - 1) / 2)
        Region axis: 0 = ring (closed), 1 = arc (open). SIMULATED.
    """
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(random_state)
    return np.array(
        [
            [pdist(curve_points(closed, n_points, distortion, rng)) for closed in (True, False)]
            for _ in range(n_subjects)
        ]
    )
