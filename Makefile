# `make demo` and `make test` work on a fresh machine: they create .venv and
# install what is needed. torch==2.13.0 first: on the reference machines that
# resolves to a local CPU wheel instead of several GB of CUDA packages.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test clean install results model

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0 || $(BIN)/pip install -q torch
	$(BIN)/pip install -q -e ".[all,test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/laconic demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Rebuild the results table (docs/RESULTS.md) and the shipped model from local data.
results: $(STAMP)
	PY=$(CURDIR)/$(BIN)/python LACONIC=$(CURDIR)/$(BIN)/laconic experiments/run_all.sh all

model: $(STAMP)
	PY=$(CURDIR)/$(BIN)/python LACONIC=$(CURDIR)/$(BIN)/laconic experiments/run_all.sh model

clean:
	rm -rf $(VENV) .pytest_cache
