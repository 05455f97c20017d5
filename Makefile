# Two commands for a fresh machine (Python 3.11, pip; no conda needed):
#   make demo   set up .venv, run the workflow on the embedded demo cohort, write the report
#   make test   set up .venv (with test extras), run the test suite
# While developing: make test-fast (unit tests only, no Snakemake runs; under 2 minutes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test test-fast lint bench clean-results

$(BIN)/.neuroflow-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# cect is only a test oracle (its own readers are compared with ours); installed without
# its heavy dependencies, never used by the workflow.
$(BIN)/.oracle-installed: $(BIN)/.neuroflow-installed
	$(BIN)/python -m pip install --quiet --no-deps cect==0.3.5
	touch $@

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
# codespell on code, workflow and docs. .ci/run runs this first.
lint: $(BIN)/.neuroflow-installed
	$(BIN)/ruff check src tests bench workflow/scripts
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
