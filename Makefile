# The README's two commands: `make run` and `make test`. Everything else is their plumbing.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask --app wsgi
SYSTEM_PACKAGES := fonts-noto-cjk libharfbuzz-subset0 poppler-utils
TEST_SYSTEM_PACKAGES := chromium
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-test system-deps test-system-deps translations lint bench extract-messages notices-preview

run: install system-deps translations
	INSPECT_DEMO=1 $(FLASK) db upgrade
	INSPECT_DEMO=1 $(FLASK) seed-demo
	@echo "Serving http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	INSPECT_DEMO=1 $(FLASK) run --host $(HOST) --port $(PORT)

test: install-test system-deps test-system-deps translations lint
	$(PY) -m pytest -n auto --durations=15 $(PYTEST_ARGS)

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python setup.cfg pyproject.toml
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed setup.cfg
	$(PIP) install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Debian packages, installed only when running as root and only when missing.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null \
	    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null; }; \
	  else echo "warning: missing system packages:$$missing (run as root or install them)"; fi; \
	fi
endef

system-deps:
	$(call apt_install,$(SYSTEM_PACKAGES))

test-system-deps:
	$(call apt_install,$(TEST_SYSTEM_PACKAGES))

translations: install
	$(VENV)/bin/pybabel compile -d inspect_app/translations

extract-messages: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location -o inspect_app/translations/messages.pot inspect_app templates
	$(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete -i inspect_app/translations/messages.pot -d inspect_app/translations

lint: install-test
	$(VENV)/bin/flake8 inspect_app tests bench wsgi.py

bench: install-test
	$(PY) bench/run.py

# PNGs of every page of every notice type, from the demo data in a throw-away database (look at them).
# PYTHONPATH: the flask command must import this checkout, not whatever the venv was installed from.
NOTICES_PREVIEW ?= build/notices-preview
notices-preview: install system-deps translations
	@tmp=$$(mktemp -d); \
	export PYTHONPATH=$(CURDIR) INSPECT_DEMO=1 INSPECT_INSTANCE_DIR=$$tmp INSPECT_DATA_DIR=$$tmp/data \
	       DATABASE_URL=sqlite:///$$tmp/preview.sqlite3; \
	$(FLASK) db upgrade >/dev/null 2>&1 && $(FLASK) seed-demo >/dev/null && \
	$(FLASK) notices preview --out $(NOTICES_PREVIEW); status=$$?; rm -rf $$tmp; \
	[ $$status -eq 0 ] && echo "PNG pages in $(NOTICES_PREVIEW)/"; exit $$status
