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
# A checkout's lock (exact versions + sha256, Linux x86_64 / Python 3.11, as make installs
# it) goes in first where it applies, all but torch: torch stays the build the env file
# installed (same version; the lock's is the CPU build from a local folder, and a GPU
# cluster wants CUDA's). Then neuroflow itself without dependencies.
lock="$spec/requirements/lock-linux-x86_64-py311.txt"
if [ -d "$spec" ] && [ -f "$lock" ] && [ "$(uname -sm)" = "Linux x86_64" ]; then
    locked="$(mktemp "${TMPDIR:-/tmp}/neuroflow-lock.XXXXXX")"
    trap 'rm -f "$locked"' EXIT
    awk '/^[^ #]/ { skip = ($0 ~ /^torch==/) } !skip' "$lock" > "$locked"
    python -m pip install --no-input --require-hashes -r "$locked"
    python -m pip install --no-input --no-deps --no-build-isolation --editable "$spec"
elif [ -d "$spec" ]; then  # a source folder without a lock for this platform: editable
    python -m pip install --no-input --editable "$spec"
else
    python -m pip install --no-input "$spec"
fi
