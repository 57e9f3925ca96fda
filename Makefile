# The campaign platform's everyday commands. `make help` lists them; `make run` is all you need to
# try it: it creates .venv, installs the project and starts the whole embedded stack.

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
PYTEST_ARGS ?=
LINT_PATHS  := $(wildcard campaigns workers tests bench migrations) celery_worker.py wsgi.py
LOCALES     := en fr de
I18N_DIR    := campaigns/translations
POT         := $(I18N_DIR)/messages.pot

.DEFAULT_GOAL := help
.PHONY: help venv install run flask test lint format bench bench-dashboard bench-export bench-mailing bench-lobbying bench-webhooks chaos translations clean-venv

help: ## List the targets
	@echo "Usage: make <target> [PYTEST_ARGS='...']"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: '$(PYTHON)' must be Python 3.11 or newer (found: $$($(PYTHON) --version 2>&1))." \
	       "Install it, or run: make PYTHON=/path/to/python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever pyproject.toml changes (new or updated dependencies).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv (if missing) and install the project with its dev tools

install: venv ## Same as venv

run: install ## Start web, worker, beat, Redis and the mail catcher (Ctrl-C stops all)
	$(PY) -m campaigns.devstack

flask: install ## A flask command against the platform `make run` runs: make flask ARGS='staff list'
	$(PY) -m campaigns.devstack.flask_cli $(ARGS)

test: install ## Run the tests (pass options with PYTEST_ARGS='-k name -x')
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install ## Check style: ruff check and ruff format --check
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)

format: install ## Reformat the code with ruff (and apply safe lint fixes)
	$(PY) -m ruff check --fix $(LINT_PATHS)
	$(PY) -m ruff format $(LINT_PATHS)

bench: install ## Run the load benchmark of signing (bench/run.py)
	$(PY) -m bench.run

bench-dashboard: install ## Time the dashboard of a campaign with 200,000 signatures
	$(PY) -m bench.dashboard

bench-export: install ## Measure the CSV export of 100,000 signatures (speed, memory)
	$(PY) -m bench.export

bench-mailing: install ## Send mailings of 10,000 and 100,000 against a plain smtplib loop
	$(PY) -m bench.mailing

bench-lobbying: install ## Letters to 720 MEPs: tick cost, worker memory, letters/s (5,000, 50,000)
	$(PY) -m bench.lobbying

bench-webhooks: install ## Milestone alerts to 30 networks' webhooks, one receiver slow: latency, memory
	$(PY) -m bench.webhooks

chaos: install ## Kill and restart workers, Redis, PostgreSQL while people sign and a mailing goes out
	$(PY) -m bench.chaos

translations: install ## Extract messages, update each language's catalog, compile them
	@mkdir -p $(I18N_DIR)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
	  --add-comments=TRANSLATORS: --sort-by-file -o $(POT) campaigns workers templates
	@for locale in $(LOCALES); do \
	  if [ -f $(I18N_DIR)/$$locale/LC_MESSAGES/messages.po ]; then \
	    $(VENV)/bin/pybabel update -i $(POT) -d $(I18N_DIR) -l $$locale || exit 1; \
	  else \
	    $(VENV)/bin/pybabel init -i $(POT) -d $(I18N_DIR) -l $$locale || exit 1; \
	  fi; \
	done
	$(VENV)/bin/pybabel compile -d $(I18N_DIR) --statistics

clean-venv: ## Delete .venv (the next target recreates it); instance/ data is kept
	rm -rf $(VENV)
