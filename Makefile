# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	@bash scripts/install-sandbox.sh
	@bash scripts/install-postgres.sh  # GRADER_POSTGRES_TESTS=0 skips it
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) -m grader.demo

test: setup
	$(PY) -m pytest tests -n 2 --dist loadfile

.PHONY: setup demo test
