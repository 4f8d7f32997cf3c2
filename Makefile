# Resolve: the commands a newcomer needs. `make help` lists them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .make
PORT ?= 8000
# What fills the demo: `make demo DEMO_LOADER=load_demo_from_samples` imports it from the sample
# case-system exports in resolve/casesystem/samples instead (docs/case-system.md).
DEMO_LOADER ?= load_demo
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k escalate -x"`.
PYTEST_ARGS ?=
# pytest-xdist workers; every worker gets its own test database.
PYTEST_WORKERS ?= auto
PYTEST := $(PY) scripts/run_pytest.py -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# Root installs system packages directly; anyone else goes through sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_GET := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600

# `manage.py check` and mypy import the real settings, which need a key; the database is
# never touched for real, so an in-memory one keeps DATABASE_URL out of it.
CHECK_ENV := SECRET_KEY=make-check-only-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(40))') \
	RESOLVE_EVIDENCE_KEY=make-check-only-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(40))') \
	RESOLVE_EVIDENCE_ANCHOR_DIR=.make/evidence-anchor DATABASE_URL=sqlite://:memory:
# Links in the demo's emails and calendar feeds point at the port it serves on. Its emails go to files
# in .make/demo-email/ (one a message), not to the console; its password is chosen once per run, so the
# welcome printed last can show it.
ifeq ($(DEMO_PASSWORD),)
DEMO_PASSWORD := $(shell python3 -c 'import secrets; print(secrets.token_urlsafe(12))')
endif
export DEMO_PASSWORD
DEMO_ENV := RESOLVE_BASE_URL=http://127.0.0.1:$(PORT) DEMO_PASSWORD=$(DEMO_PASSWORD) \
	EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend EMAIL_FILE_PATH=$(CURDIR)/.make/demo-email

NPM_STAMP := $(if $(wildcard package.json),$(STAMPS)/npm)
ASSETS_STAMP := $(if $(wildcard package.json),$(STAMPS)/assets)
ASSET_SOURCES := $(shell find resolve -path '*/assets/*' -type f 2>/dev/null)
STATIC_SOURCES := $(shell find resolve static -path '*static/*' -type f 2>/dev/null) \
	$(wildcard package-lock.json)

.PHONY: help setup system-packages demo test test-sqlite test-postgres check check-lint check-format \
	check-types check-imports check-django bench bench-load bench-scale-out clean distclean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMPS)/requirements system-packages $(ASSETS_STAMP) ## Install everything (quick when already done)

$(VENV)/pyvenv.cfg:
	python3 -m venv $(VENV) || { rm -rf $(VENV); \
		echo "python3 -m venv failed; on Debian's own python3: apt-get install python3-venv"; exit 1; }

# Developers get both locks: requirements-dev.txt starts with `-r requirements.txt` and adds the tools.
# Production installs requirements.txt alone (docs/deploying.md). scripts/lock_requirements.py writes both.
$(STAMPS)/requirements: requirements.txt requirements-dev.txt $(VENV)/pyvenv.cfg
	$(PY) -m pip install --require-virtualenv --disable-pip-version-check --progress-bar off \
		-r requirements-dev.txt
	@mkdir -p $(STAMPS) && touch $@

# Checked every time rather than stamped: packages can disappear, and looking costs nothing.
system-packages:
	@missing=""; \
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing="$$missing postgresql"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium fonts-liberation"; \
	[ -f /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || missing="$$missing fonts-liberation"; \
	ldconfig -p | grep -q 'libpango-1.0.so' || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	[ -x /usr/bin/pdftoppm ] || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(APT_GET) update; \
		$(APT_GET) install -y --no-install-recommends $$missing; \
	fi

$(STAMPS)/npm: package.json $(wildcard package-lock.json)
	@if [ -f package-lock.json ]; then npm ci; \
	else echo "No package-lock.json: running npm install (commit the lock file it writes)"; npm install; fi
	@mkdir -p $(STAMPS) && touch $@

# The compiled stylesheet is not committed: build it (package.json's "build") when its sources change.
$(STAMPS)/assets: $(NPM_STAMP) $(ASSET_SOURCES)
	npm run --if-present build
	@mkdir -p $(STAMPS) && touch $@

demo: setup ## Run the demo with sample data on http://127.0.0.1:$PORT (default 8000)
	$(DEMO_ENV) $(PY) manage.py migrate --noinput
	$(DEMO_ENV) $(PY) manage.py $(DEMO_LOADER)
	@$(MAKE) --no-print-directory $(STAMPS)/collectstatic
	@mkdir -p .make/demo-email
	@# The background worker (deadline sweeps, email, digests) runs quietly beside the server and stops
	@# with it; the welcome (address, sign-ins, a first walk) prints last, once both are up.
	@$(DEMO_ENV) $(PY) manage.py run_worker --quiet & worker=$$!; \
	$(DEMO_ENV) $(PY) manage.py demo_welcome --url http://127.0.0.1:$(PORT)/ & welcome=$$!; \
	trap 'kill $$worker $$welcome 2>/dev/null; wait $$worker 2>/dev/null || true' EXIT; \
	$(DEMO_ENV) $(PY) manage.py runserver --insecure 127.0.0.1:$(PORT)

# Only when a static file (or the front-end packages) changed since the last collection.
$(STAMPS)/collectstatic: $(STATIC_SOURCES) $(ASSETS_STAMP)
	$(DEMO_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0
	@mkdir -p $(STAMPS) && touch $@

test: setup ## Run the whole suite on SQLite, then on a throwaway PostgreSQL server
	@# -k: a failure on SQLite still lets the PostgreSQL run report its own; either fails `make test`.
	@$(MAKE) --no-print-directory -k test-sqlite test-postgres

test-sqlite: setup ## Run the whole suite on SQLite only
	@echo "==> Test suite on SQLite"
	env -u DATABASE_URL $(PYTEST)

test-postgres: setup ## Run the whole suite on a throwaway PostgreSQL server only
	@if $(PY) scripts/with_postgres.py --available; then \
		echo "==> Test suite on PostgreSQL"; \
		$(PY) scripts/with_postgres.py -- $(PYTEST); \
	else \
		echo; \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
		echo "!! SKIPPED: the PostgreSQL run. No server binaries were found.        !!"; \
		echo "!! Run 'make setup' (installs Debian's postgresql) or set PG_BIN.     !!"; \
		echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
		echo; \
		if [ -n "$${REQUIRE_POSTGRES:-}" ]; then echo "REQUIRE_POSTGRES is set: failing."; exit 1; fi; \
	fi

check: setup ## Lint, format check, type check, import layers, Django system checks, missing migrations
	@# -k: run every check and report all failures, not just the first.
	@$(MAKE) --no-print-directory -k check-lint check-format check-types check-imports check-django

check-lint:
	$(VENV)/bin/ruff check .

check-format:
	$(VENV)/bin/ruff format --check .

check-types:
	$(CHECK_ENV) $(VENV)/bin/mypy .

# The layers in .importlinter (core, domain apps, pages and API). No cache: it takes a fraction of a
# second and would leave a directory in the tree.
check-imports:
	$(VENV)/bin/lint-imports --no-logo --no-cache .importlinter
	$(PY) scripts/check_import_cycles.py

check-django:
	DJANGO_SETTINGS_MODULE=config.settings_production $(CHECK_ENV) $(PY) manage.py check --deploy --fail-level WARNING
	$(CHECK_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(CHECK_ENV) $(PY) manage.py permissions_table --check
	# Security lint of the application code (tests are not scanned: their asserts are the point).
	$(VENV)/bin/bandit -q -r config resolve -ll -x '*/tests/*,*/migrations/*,resolve/testing/*'
	# Known-vulnerable dependencies (says loudly when the vulnerability service is out of reach).
	$(PY) scripts/audit_dependencies.py
	$(PY) scripts/check_chokepoint.py

bench: setup ## Run the benchmarks (bench/run.py)
	$(PY) bench/run.py

bench-load: setup ## 100 API users against gunicorn and PostgreSQL on loopback, 60 s (bench/load_run.py)
	$(PY) scripts/with_postgres.py -- $(PY) bench/load_run.py

bench-scale-out: setup ## The load on two servers and two workers, then checks no message lost or sent twice
	RESOLVE_LOAD_NODES=2 $(PY) scripts/with_postgres.py -- $(PY) bench/load_run.py

clean: ## Remove caches, stamps and collected static files (keeps .venv and the demo database)
	rm -rf $(STAMPS) staticfiles test-artifacts .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -path ./node_modules -prune -o -name __pycache__ -type d -print0 \
		| xargs -0 rm -rf

distclean: clean ## Also remove .venv, node_modules and the demo database
	rm -rf $(VENV) node_modules db.sqlite3 db.sqlite3-shm db.sqlite3-wal
