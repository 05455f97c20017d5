#!/usr/bin/env bash
# envs/<env>.post-deploy.sh (each a symlink to this file): Snakemake runs it after creating
# the conda env of envs/<env>.yaml, inside that env, from a copy under .snakemake/conda/
# (so no path relative to this file would resolve). It installs the neuroflow that runs
# the workflow: NEUROFLOW_PIP_SPEC, set by workflow/rules/common.smk, names it (a source folder, a wheel, a VCS URL or neuroflow==<version>).
set -euo pipefail
spec="${NEUROFLOW_PIP_SPEC:-}"
if [ -z "$spec" ]; then
    echo "envs/install-neuroflow.sh (run as $(basename "$0")): NEUROFLOW_PIP_SPEC is not set: run the workflow with" \
         "snakemake from the neuroflow folder or with 'neuroflow run', which set it" >&2
    exit 1
fi
if [ -d "$spec" ]; then  # a source folder (a checkout): editable, as before
    python -m pip install --no-input --editable "$spec"
else
    python -m pip install --no-input "$spec"
fi
