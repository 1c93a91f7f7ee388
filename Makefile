# `make run` and `make test` are the two commands; everything else is a step they use.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
SPACY_PIPELINE := var/spacy/zh_complaints
MODEL := models/complaints.tar.gz
MODEL_INPUTS := config.yml domain.yml $(wildcard data/*/*.yml) \
	$(wildcard data/jieba/*) bot/rasa/nlu/components.py bot/rasa/nlu/normalisation.py bot/text_normalisation.py bot/rasa/nlu/vocabulary.py bot/rasa/policies.py bot/rasa/serving.py

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: run run-production test lint bench venv web web-dev browser nginx nlu train migrate validate lock clean

run: venv web nlu train migrate
	scripts/run

# The production topology on one machine (docs/production.md); it migrates its own database.
run-production: venv web nlu train nginx
	scripts/run-production

test: lint web-dev browser nginx nlu train migrate
	$(PY) -m pytest

# Lint, format check and type check (settings in pyproject.toml).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The performance benchmark (docs/benchmark.md), about 20 minutes on 2 cores: trains
# this bot and Rasa's starter bot afresh and writes bench/results/<date>.{md,png,json}.
# BENCH_ARGS passes options, e.g. BENCH_ARGS="--configs a,d --levels 1,8".
bench: venv web nlu train nginx
	$(PY) -m bench --train $(BENCH_ARGS)

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	@PYTHON=$$(scripts/find-python310) && \
	  { [ -x $(PY) ] || $$PYTHON -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip==24.2
	$(PY) -m pip install --quiet --progress-bar off -r requirements.lock
	touch $@

# The browser libraries the product serves (socket.io-client for the chat page, echarts for the desk's analysis),
# from package-lock.json; a full install (web-dev) also satisfies it.
web: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --omit=dev --no-audit --no-fund --loglevel=error

# Those and the test-only devDependencies (the rasa-webchat widget). `npm ci` empties node_modules, so an
# install without them (make run) removes this stamp and the next make test installs them again.
web-dev: web/node_modules/.dev-installed

web/node_modules/.dev-installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium for the browser tests (Playwright drives it; it downloads nothing).
browser:
	scripts/install-chromium

# Debian's nginx, the load balancer of the production topology and its fault tests.
nginx:
	scripts/install-nginx

nlu: $(SPACY_PIPELINE)/meta.json

$(SPACY_PIPELINE)/meta.json: bot/rasa/nlu/spacy_pipeline.py bot/settings.py $(VENV)/.installed
	$(PY) -m bot nlu build-spacy $(SPACY_PIPELINE)

train: $(MODEL)

# Retrains only when data, domain, config or NLU code changed. `rasa train --domain domain.yml --data data
# --config config.yml --out models --fixed-model-name complaints` behind a progress view (stage, epochs,
# time left); Rasa's own output goes to var/log/training.log (bot/training/).
$(MODEL): $(MODEL_INPUTS) $(SPACY_PIPELINE)/meta.json
	$(PY) -m bot model train
	touch $@

migrate: venv
	$(PY) -m bot db upgrade

validate: venv
	$(RASA) data validate --domain domain.yml --data data --config config.yml --fail-on-warnings

# Regenerates the full pinned set from requirements.in.
lock:
	$(PY) -m pip install --quiet -r requirements.in
	$(PY) -m pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf models var results .pytest_cache web/node_modules
