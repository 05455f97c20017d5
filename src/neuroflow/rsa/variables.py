"""long_name and units of every variable the RSA stage writes (output schema).

Dissimilarities, activations and betas have no physical unit: ``units = "1"``, and what
they measure is in the long name (the old prose ``units`` such as ``"1 - Pearson r"``).
"""

from __future__ import annotations

VARIABLES = {
    "rdm": ("dissimilarity of the pair (upper-triangle RDM vector, squareform order)", "1"),
    "rdm_correlation": ("correlation distance (1 - Pearson r) of the run-averaged betas", "1"),
    "beta": ("GLM beta: percent signal change per unit regressor", "percent"),
    "pair": ("condition pair (upper-triangle index)", "1"),
    "condition": ("condition", "1"),
    "condition_i": ("first condition of the pair", "1"),
    "condition_j": ("second condition of the pair", "1"),
    "run": ("run", "1"),
    "voxel": ("voxel", "1"),
    "voxel_ijk": ("voxel indices (i, j, k)", "1"),
    "axis": ("voxel index axis", "1"),
    "region": ("atlas region", "1"),
    "region_index": ("atlas label value of the region", "1"),
    "n_voxels": ("voxels of the region inside every run's mask", "count"),
    "fold": ("cross-validation fold (beta file)", "1"),
    "subject": ("subject", "1"),
    "rate": ("firing rate in the angle bin", "count/s"),
    "occupancy": ("time spent in the angle bin", "s"),
    "angle_bin": ("head-direction bin centre", "rad"),
    "unit": ("unit (neuron) id", "1"),
    "angle_i": ("first angle bin of the pair", "rad"),
    "angle_j": ("second angle bin of the pair", "rad"),
    "test_accuracy": ("fraction correct on the held-out stimuli", "1"),
    "final_loss": ("cross-entropy of the last training mini-batch (nats)", "1"),
    "instance": ("network instance (training seed)", "1"),
    "layer": ("network layer", "1"),
    "stimulus": ("stimulus (held-out image index)", "1"),
    "stimulus_class": ("digit class of the stimulus", "1"),
    "stimulus_i": ("first stimulus of the pair", "1"),
    "stimulus_j": ("second stimulus of the pair", "1"),
}


def variables_of(ds) -> dict:
    """``{name: (long_name, units)}`` for every variable of an RSA dataset (known names and
    the per-layer ``activation_<layer>`` / ``unit_<layer>`` of the simulated networks)."""
    out = {k: v for k, v in VARIABLES.items() if k in ds.variables}
    if "rdm" in out and ds["rdm"].attrs.get("units") not in (None, "1"):
        out["rdm"] = (f"{out['rdm'][0]}: {ds['rdm'].attrs['units']}", "1")
    for name in ds.variables:
        name = str(name)
        if name.startswith("activation_"):
            out[name] = (
                f"layer {name[11:]}'s activation to each stimulus (after ReLU; logits for the output layer)",
                "1",
            )
        elif name.startswith("unit_"):
            out[name] = (f"unit of layer {name[5:]}", "1")
    return out
