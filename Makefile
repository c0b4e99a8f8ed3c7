# The two commands of the README. Both set up what is missing first (scripts/setup.sh).
# `make lint` is ruff (config in pyproject.toml); `make test` runs it first, so CI does too.
.PHONY: setup demo lint test test-fast

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/dlcourse demo

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

test: lint
	.venv/bin/python -m pytest

test-fast: setup
	.venv/bin/python -m pytest -m "not slow"
