# The README's two commands: `make run` and `make test`. Everything else is their plumbing.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask --app wsgi
SYSTEM_PACKAGES := fonts-noto-cjk libharfbuzz-subset0 poppler-utils
TEST_SYSTEM_PACKAGES := chromium
APT_GET_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-test system-deps test-system-deps translations lint bench extract-messages notices-preview

# system packages first: the fonts and HarfBuzz must be there before anything renders a notice
run: system-deps install translations
	INSPECT_DEMO=1 $(FLASK) db upgrade
	INSPECT_DEMO=1 $(FLASK) seed-demo --if-empty
	@echo "Serving http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	INSPECT_DEMO=1 $(FLASK) run --host $(HOST) --port $(PORT)

test: install-test system-deps test-system-deps translations lint
	$(PY) -m pytest -n auto --durations=15 $(PYTEST_ARGS)

# `python3 -m venv` needs ensurepip, which Debian ships apart (python3-venv): installed first when root.
# A failed attempt leaves a .venv without pip behind; it is removed so that the next run tries again.
$(VENV)/bin/python:
	@if ! python3 -c 'import ensurepip' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: python3-venv (python3 -m venv needs ensurepip)"; \
	    $(APT_GET_INSTALL) python3-venv >/dev/null \
	    || { apt-get update >/dev/null && $(APT_GET_INSTALL) python3-venv >/dev/null; } || exit 1; \
	  else echo "error: python3 -m venv needs ensurepip: run as root or install python3-venv" >&2; exit 1; fi; \
	fi
	@created=; [ -e $(VENV) ] || created=1; \
	python3 -m venv $(VENV) || { [ -z "$$created" ] || rm -rf $(VENV); exit 1; }
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
	    $(APT_GET_INSTALL) $$missing >/dev/null \
	    || { apt-get update >/dev/null && $(APT_GET_INSTALL) $$missing >/dev/null; }; \
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
notices-preview: system-deps install translations
	@tmp=$$(mktemp -d); \
	export PYTHONPATH=$(CURDIR) INSPECT_DEMO=1 INSPECT_INSTANCE_DIR=$$tmp INSPECT_DATA_DIR=$$tmp/data \
	       DATABASE_URL=sqlite:///$$tmp/preview.sqlite3; \
	$(FLASK) db upgrade >/dev/null 2>&1 && $(FLASK) seed-demo >/dev/null && \
	$(FLASK) notices preview --out $(NOTICES_PREVIEW); status=$$?; rm -rf $$tmp; \
	[ $$status -eq 0 ] && echo "PNG pages in $(NOTICES_PREVIEW)/"; exit $$status
