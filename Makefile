# `make run` and `make test` are the two commands; everything else is a step they use.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
SPACY_PIPELINE := var/spacy/zh_complaints
MODEL := models/complaints.tar.gz
MODEL_INPUTS := config.yml $(wildcard domain/*.yml) $(wildcard data/*/*.yml) \
	$(wildcard data/jieba/*) bot/nlu/components.py bot/nlu/vocabulary.py

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: run test venv nlu train migrate validate lock clean

run: venv nlu train migrate
	scripts/run

test: venv nlu train migrate
	$(PY) -m pytest

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	@PYTHON=$$(scripts/find-python310) && \
	  { [ -x $(PY) ] || $$PYTHON -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip==24.2
	$(PY) -m pip install --quiet --progress-bar off -r requirements.lock
	touch $@

nlu: $(SPACY_PIPELINE)/meta.json

$(SPACY_PIPELINE)/meta.json: bot/nlu/spacy_pipeline.py bot/settings.py $(VENV)/.installed
	$(PY) -m bot nlu build-spacy $(SPACY_PIPELINE)

train: $(MODEL)

# Retrains only when data, domain, config or NLU code changed.
$(MODEL): $(MODEL_INPUTS) $(SPACY_PIPELINE)/meta.json
	@echo "Training the model (a few minutes on 2 cores)..."
	$(RASA) train --domain domain --data data --config config.yml \
	  --out models --fixed-model-name complaints
	touch $@

migrate: venv
	$(PY) -m bot db upgrade

validate: venv
	$(RASA) data validate --domain domain --data data --config config.yml --fail-on-warnings

# Regenerates the full pinned set from requirements.in.
lock:
	$(PY) -m pip install --quiet -r requirements.in
	$(PY) -m pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf models var results .pytest_cache
