# Special Fund — the two commands of the README, and a few more.
#   make run      set up, create the embedded SQLite database with demo data, serve the app
#   make test     set up, lint (ruff, mypy), run the suite on SQLite, then on PostgreSQL if
#                 TEST_DATABASE_URL names one (.ci/run sets it)
#   make system   install what Debian must provide when missing: Chromium (browser test),
#                 CJK fonts and Pango (PDFs), poppler-utils (PDF tests)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium

HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: setup run test lint system translations bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

# Local development: the keys are generated once into instance/secrets.toml.
# Everywhere else they must be given (docs/operations.md).
run: export SPECIALFUND_ENV := development
run: setup system
	$(BIN)/specialfund init
	$(BIN)/specialfund demo --if-empty
	@echo
	@echo "  Special Fund: http://$(HOST):$(PORT)/"
	@echo "  Sign in as yjq_ca, yjq_co, yjq_fin1, yjq_fin2, yjq_aud or yjq_admin"
	@echo "  (any fund code: zys ayx lzx gxq lkq), password demo-pass-2026"
	@echo
	SESSION_COOKIE_SECURE=0 $(BIN)/specialfund run --host $(HOST) --port $(PORT)

# ruff for style and bugs, mypy for types (strict in the domain packages; pyproject.toml)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

# The browser test drives Debian's Chromium through Playwright (which cannot
# download its own browsers here); Chinese needs a CJK font to render at all;
# WeasyPrint needs Pango; the PDF tests read PDFs with pdftotext and pdffonts.
SYSTEM_PACKAGES := chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 \
	libharfbuzz-subset0 poppler-utils
system:
	@if ! test -x $(CHROMIUM) || ! command -v pdftotext >/dev/null \
			|| ! fc-list 2>/dev/null | grep -q "Noto Sans CJK" \
			|| ! ldconfig -p | grep -q libpangoft2; then \
		apt-get update && apt-get install -y --no-install-recommends $(SYSTEM_PACKAGES); \
	fi

test: lint system
	@echo "--- the suite on SQLite"
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "--- the same suite on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(BIN)/python -m pytest -q; \
	else \
		echo "--- TEST_DATABASE_URL not set: PostgreSQL run skipped"; \
	fi

# Extract every translatable message and merge it into the catalog; then translate
# the new entries in core/translations/zh_CN/LC_MESSAGES/messages.po.
KEYWORDS := -k _ -k gettext -k N_ -k InvalidInput:1 -k NotFound:1 -k Conflict:1 \
	-k PermissionDenied:1 -k PeriodLocked:1 -k DomainError:1 -k RuleViolation:2 \
	-k Violation:2 -k clean_text:2 -k lazy_gettext -k ApiProblem:3 -k ConfigurationError:1
translations: setup
	$(BIN)/pybabel extract --no-location --sort-output -F babel.cfg $(KEYWORDS) \
		-o core/translations/messages.pot core audit people ledger grants reports jobs webapp
	$(BIN)/pybabel update --no-fuzzy-matching -i core/translations/messages.pot \
		-d core/translations -l zh_CN

bench: setup
	$(BIN)/python -m bench.ledger_bench

clean:
	rm -rf $(VENV) instance build *.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis
