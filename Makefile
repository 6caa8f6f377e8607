# The interface to the project: `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test unit integration infra lint format synth bench chaos chaos-quick clean

$(STAMP): requirements/lambda.txt requirements/dev.txt requirements/constraints.txt package.json package-lock.json
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements/dev.txt -c requirements/constraints.txt
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) -m local.demo

# Two workers, one test file each at a time (module fixtures start a stack once): most of the suite
# waits on visibility timeouts and settles, so two files at once halve the wall time on 2 cores.
test: install lint
	$(PY) -m pytest -q -n 2 --dist loadfile

unit: install
	$(PY) -m pytest -q tests/unit

integration: install
	$(PY) -m pytest -q tests/integration

infra: install
	$(PY) -m pytest -q tests/infra

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	PYTHONPATH=lambdas $(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

synth: install
	PATH=$(abspath $(VENV))/bin:$$PATH npx cdk synth -q -c bundle=false

bench: install
	$(PY) -m bench --profile current legacy

chaos: install
	$(PY) -m local.chaos

chaos-quick: install
	$(PY) -m local.chaos --requests 600 --minutes 10

clean:
	rm -rf $(VENV) node_modules cdk.out build
