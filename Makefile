# The two commands of the README:
#   make serve   set everything up (Python venv, front-end assets) and serve the seed graph on 127.0.0.1:8000
#   make test    set everything up (plus headless Chromium) and run the whole test suite
# Every step is idempotent, so both work on a fresh clone and on a machine that already ran them.

VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: setup python assets browser virtuoso serve test load bench clean

setup: python assets

python: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# YASGUI from the npm registry, served from our own origin (works with no internet at run time).
assets: server/innograph/static/vendor/.installed
server/innograph/static/vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p server/innograph/static/vendor
	cp node_modules/@zazuko/yasgui/build/yasgui.min.js node_modules/@zazuko/yasgui/build/yasgui.min.css server/innograph/static/vendor/
	touch $@

# Debian's Chromium for the browser tests (root on CI and the dev machines; skipped with a message otherwise).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing and we are not root: browser tests will be skipped"; fi; }

serve: setup
	$(BIN)/innograph serve --host $(HOST) --port $(PORT)

load: setup
	$(BIN)/innograph load

# Debian's Virtuoso for the external-store tests (tests/backends.py: the behaviour tests also run on it; skipped with
# a message where it is absent). Started by the tests themselves, headless, on a free port with a temporary database.
virtuoso:
	@command -v virtuoso-t >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtuoso-opensource >/dev/null; \
	  else echo "virtuoso-t is missing and we are not root: the Virtuoso runs of the backend tests will be skipped"; fi; }

test: setup browser virtuoso
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf var node_modules server/innograph/static/vendor $(VENV)
