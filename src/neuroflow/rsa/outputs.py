"""What every tRSA output shares: the packages recorded in its provenance, the column
descriptions of its tables and the NetCDF writer with the stage's variables."""

from __future__ import annotations

import json
from pathlib import Path

from neuroflow.output_schema import _caller_step
from neuroflow.provenance import write_netcdf
from neuroflow.resources import sha256_file
from neuroflow.rsa.variables import variables_of

RSA_PACKAGES = (
    "neuroflow",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "rsatoolbox",
    "scikit-learn",
    "nilearn",
    "nibabel",
    "pynwb",
    "torch",
)
STAT_COLUMNS = {
    "statistic": "rdm (plain RDM), or rgtm/rgdm_l<lower>_u<upper>",
    "kind": "rdm | rgtm (geo-topological) | rgdm (geodesic after geo-topological)",
    "lower": "lower quantile threshold l (fraction of the RDM's dissimilarities)",
    "upper": "upper quantile threshold u (fraction)",
    "family": "plain | local | global | geometry | topology | intermediate (Lin & "
    "Kriegeskorte 2023 taxonomy of (l, u))",
}


def provenance_attrs(inputs, params: dict) -> dict:
    """NetCDF attributes of an output derived from real input files."""
    return {
        "inputs": json.dumps([{"file": Path(f).name, "sha256": sha256_file(f)} for f in inputs]),
        "parameters": json.dumps(params, sort_keys=True, default=str),
    }


def write_rsa_netcdf(ds, path, *, simulated: bool, sources=()) -> None:
    """:func:`neuroflow.provenance.write_netcdf` with the stage's variables and packages."""
    write_netcdf(
        ds,
        path,
        simulated=simulated,
        sources=list(sources),
        packages=RSA_PACKAGES,
        variables=variables_of(ds),
        step=_caller_step(2),
    )


MODEL_COLUMNS = {
    "subject": "subject label",
    "model": "model RDM name",
    "evaluation": "model-data agreement on all conditions (rsatoolbox comparison method)",
    "bootstrap_mean": "mean over bootstrap samples of conditions",
    "bootstrap_se": "SD over bootstrap samples (standard error)",
    "ci_low": "2.5th percentile of the bootstrap",
    "ci_high": "97.5th percentile",
    "p_zero": "rsatoolbox one-sided t-test of the evaluation against 0",
    "p_vs_best": "rsatoolbox two-sided t-test against the best model of this statistic",
    "rank": "1 = best model for this statistic",
    "note": "why a row could not be evaluated",
}
