"""Agreement of the bi-clustering's point estimates with known labels: the groups found,
the simulated truth, the recorded epochs (circular-shift null) and regions (permutation
null)."""

from __future__ import annotations

import numpy as np

from neuroflow.bicluster import summarize as sm


def validation_rows(counts, est, conv, cfg, n_shuffles, seed, simulated):
    """Rows of the validation table: groups found, agreement with the simulated truth,
    with the epochs (circular-shift null) and with the recorded regions (permutation)."""
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score  # heavy: merge only

    point, s_point = est["point"], est["s_point"]
    c_found, s_found = conv["cluster_found"], conv["state_found"]
    found = f"found: support >= {cfg['min_support']} in every chain"
    nan4 = [np.nan] * 4
    rows = [
        ("n_neuron_clusters", found, float(c_found.sum()), *nan4),
        ("n_states", found, float(s_found.sum()), *nan4),
        (
            "n_neuron_clusters_not_found",
            "point-estimate clusters below that support",
            float((~c_found).sum()),
            *nan4,
        ),
        ("n_states_not_found", "point-estimate states below that support", float((~s_found).sum()), *nan4),
    ]
    if simulated and "true_cluster" in counts and "true_state" in counts:
        tz, ts = counts["true_cluster"].values, counts["true_state"].values
        rows += [
            ("ari_neuron_clusters", "simulated truth", adjusted_rand_score(tz, point), *nan4),
            ("ari_states", "simulated truth", adjusted_rand_score(ts, s_point), *nan4),
            ("true_n_clusters", "simulated truth", float(np.unique(tz).size), *nan4),
            ("true_n_states", "simulated truth", float(np.unique(ts).size), *nan4),
        ]
    if "epoch" in counts.coords and np.any(counts["epoch"].values != ""):
        ep = counts["epoch"].values
        ok = ep != ""
        ref = np.unique(ep[ok], return_inverse=True)[1]
        for name, score in (
            ("ari_states_vs_epochs", adjusted_rand_score),
            ("ami_states_vs_epochs", adjusted_mutual_info_score),
        ):
            val = score(ref, s_point[ok])
            null = sm.circular_shift_null(s_point[ok], ref, score, n_shuffles, seed)
            rows.append(_null_row(name, "epochs (circular-shift null)", val, null, n_shuffles))
    if not simulated and "region" in counts.coords:
        reg = np.unique(counts["region"].values, return_inverse=True)[1]
        if np.unique(reg).size > 1:
            rng = np.random.default_rng(seed)
            val = adjusted_rand_score(reg, point)
            null = np.array([adjusted_rand_score(rng.permutation(reg), point) for _ in range(n_shuffles)])
            rows.append(
                _null_row(
                    "ari_clusters_vs_region", "recorded region (permutation null)", val, null, n_shuffles
                )
            )
    return rows


def _null_row(quantity: str, reference: str, value, null, n_shuffles: int) -> tuple:
    """A score against its null draws: mean, 95th percentile and the p-value
    ``(1 + #null >= value) / (1 + n_null)``."""
    return (
        quantity,
        reference,
        value,
        float(null.mean()),
        float(np.quantile(null, 0.95)),
        float((1 + np.sum(null >= value)) / (1 + null.size)),
        n_shuffles,
    )
