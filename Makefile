# Two commands for a fresh machine (Python 3.11, pip; no conda needed):
#   make demo   set up .venv, run the workflow on the embedded demo cohort, write the report
#   make test   set up .venv (with test extras), run the test suite
# While developing: make test-fast (unit tests only, no Snakemake runs; under 2 minutes).
# Both install the lock requirements/lock-linux-x86_64-py311.txt; make lock regenerates it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test test-fast lint bench clean-results lock

# The lock: exact versions and sha256 hashes of every package set-up installs (neuroflow's
# dependencies and test extras, transitively) for Linux x86_64 / CPython 3.11, made by
# `make lock` from pyproject.toml (whose ranges stay loose for library use). Set-up installs
# the lock, then neuroflow itself without dependencies, built with the locked setuptools;
# the stamp holds the lock's sha256 (tests/test_lock.py compares the venv with the lock).
LOCK := requirements/lock-linux-x86_64-py311.txt
ORACLE_LOCK := requirements/oracle-linux-x86_64-py311.txt
PIP_VERSION := 26.3

$(BIN)/.neuroflow-installed: pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	sha256sum $(LOCK) > $@

# cect is only a test oracle (its own readers are compared with ours); installed without
# its heavy dependencies (its own lock, --no-deps), never used by the workflow.
$(BIN)/.oracle-installed: $(BIN)/.neuroflow-installed $(ORACLE_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r $(ORACLE_LOCK)
	touch $@

# Regenerate the lock (CONTRIBUTING.md): uv in its own venv (not .venv); the pins already in
# the lock are kept where pyproject allows (LOCK_FLAGS=--upgrade, or --upgrade-package NAME,
# moves them). torch is the CPU build: TORCH_WHEELS is the folder (or the URL of a page,
# e.g. https://download.pytorch.org/whl/cpu/torch/) holding its wheel.
LOCK_TOOL ?= /tmp/neuroflow-lock-tool
UV_VERSION := 0.13.9
TORCH_WHEELS ?= /opt/wheels
LOCK_FLAGS ?=
UV_COMPILE = $(LOCK_TOOL)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --find-links $(TORCH_WHEELS) \
	--custom-compile-command 'make lock' $(LOCK_FLAGS)

lock:
	test -x $(LOCK_TOOL)/bin/python || $(PYTHON) -m venv $(LOCK_TOOL)
	$(LOCK_TOOL)/bin/python -m pip install --quiet uv==$(UV_VERSION)
	$(UV_COMPILE) pyproject.toml --extra test -o $(LOCK)
	echo 'cect==0.3.5' | $(UV_COMPILE) --no-deps - -o $(ORACLE_LOCK)

DEMO := --configfile config/cohorts/demo.yaml

demo: $(BIN)/.neuroflow-installed
	$(BIN)/snakemake --profile profiles/default --cores $(CORES) $(DEMO)
	$(BIN)/snakemake --profile profiles/default $(DEMO) --report results/report.html
	@echo "Report: results/report.html"

# System packages for the SLURM and browser tests (slurm-wlm, munge, chromium) are
# installed where this runs as root with apt-get; elsewhere those tests skip and say why.
test: $(BIN)/.oracle-installed
	bash tests/system/install.sh
	$(BIN)/python -m pytest -q

# Linters (CONTRIBUTING.md): ruff with pyupgrade/bugbear/simplify and a complexity limit,
# ruff format (checked, not applied), snakefmt on the rule files ([tool.snakefmt]), codespell on code, workflow and docs.
# .ci/run runs this first.
lint: $(BIN)/.neuroflow-installed
	$(BIN)/ruff check src tests bench workflow/scripts
	$(BIN)/ruff format --check src tests bench workflow/scripts
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/codespell src workflow tests bench config README.md CONTRIBUTING.md

# The quick check while developing: deselects the tests marked workflow, slurm, oracle or
# slow, and fails a test that starts Snakemake without the workflow mark (tests/conftest.py).
test-fast: $(BIN)/.neuroflow-installed
	$(BIN)/python -m pytest -q --fast

# One bench script per stage, each printing its figures side by side with the reference
# library of its issue (bench_fc.py builds pyspi in its own venv, /tmp/pyspi-venv).
bench: $(BIN)/.neuroflow-installed
	$(BIN)/python bench/bench_homogenize.py
	$(BIN)/python bench/bench_dag.py 1000
	$(BIN)/python bench/bench_activity.py
	$(BIN)/python bench/bench_fmri.py
	$(BIN)/python bench/bench_eeg.py
	$(BIN)/python bench/bench_fc.py
	$(BIN)/python bench/bench_bicluster.py
	$(BIN)/python bench/bench_trsa.py
	$(BIN)/python bench/bench_encoding.py

clean-results:
	rm -rf results .snakemake
