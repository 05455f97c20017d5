#!/usr/bin/env bash
# System packages for the integration tests: a one-node SLURM cluster (slurm-wlm, munge)
# and a real browser for the report check (chromium). Installed only where this runs as
# root with apt-get; elsewhere the tests that need them skip with a message saying so.
set -u
# The BIDS validator (npm package, legacy node version) for the input-dataset checks, in a
# git-ignored folder of the checkout; tests that need it skip when npm is absent.
here=$(cd "$(dirname "$0")/../.." && pwd)
bv="$here/.cache/bids-validator"
if [ ! -x "$bv/node_modules/.bin/bids-validator" ] && command -v npm >/dev/null 2>&1; then
  mkdir -p "$bv"
  if (cd "$bv" && npm install --silent --no-audit --no-fund bids-validator@1.15.0 >/tmp/neuroflow-npm.log 2>&1); then
    echo "installed bids-validator 1.15.0 into $bv"
  else
    echo "npm install bids-validator failed (see /tmp/neuroflow-npm.log): those checks will skip"
  fi
fi
need=()
command -v slurmctld >/dev/null 2>&1 || need+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || need+=(munge)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  echo "system test packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "cannot install ${need[*]} (not root or no apt-get): SLURM/browser tests will skip"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
if apt-get install -y -qq --no-install-recommends "${need[@]}" >/tmp/neuroflow-apt.log 2>&1; then
  echo "installed ${need[*]}"
else
  echo "apt-get install ${need[*]} failed (see /tmp/neuroflow-apt.log): those tests will skip"
fi
exit 0
