# The two commands of the README. Both set up what is missing first (scripts/setup.sh).
# `make test` (what CI runs): lint, then the fast tier, then the slow tier; both tiers run
# even when the first fails, and it fails if either did. `make test-fast`: the fast tier only.
.PHONY: setup demo lint test test-fast test-heavy

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/dlcourse demo

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

test: lint
	@fast=0; slow=0; \
	.venv/bin/python -m pytest -m "not slow" --durations=10 || fast=$$?; \
	.venv/bin/python -m pytest -m "slow and not heavy" --durations=25 || slow=$$?; \
	[ $$fast -eq 0 ] && [ $$slow -eq 0 ]

test-fast: setup
	.venv/bin/python -m pytest -m "not slow"

test-heavy: setup  # Module 6's variant suite: a CNN trained per variant
	.venv/bin/python -m pytest -m heavy tests/test_variants.py
