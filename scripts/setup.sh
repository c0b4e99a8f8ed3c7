#!/usr/bin/env bash
# Set up everything the course needs on a fresh machine, idempotently:
# bubblewrap and chromium (where apt can install them), a virtualenv cached outside the checkout and keyed by
# a hash of the dependency spec, this checkout installed into it, and the MNIST data.
# Prints nothing but progress; leaves `.venv` pointing at the virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v bwrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing bubblewrap"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null 2>&1 \
        || echo "setup: could not install bubblewrap; grading will use the reduced-isolation fallback"
fi

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
        && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium (the browser tests of the HTML pages)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
        >/dev/null 2>&1 || echo "setup: could not install chromium; the browser tests will be skipped"
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing postgresql (the gradebook tests start a server of their own)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1 \
        || echo "setup: could not install postgresql; its tests will be skipped"
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
CACHE=${DLCOURSE_CACHE:-$HOME/.cache/dlcourse}
spec_hash=$(sed -n '/^dependencies = \[/,/^\]/p' pyproject.toml | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])')
VENV=${DLCOURSE_VENV:-$CACHE/venv-$spec_hash}

if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.complete" ]; then
    echo "setup: creating virtualenv $VENV (a few minutes, once)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    deps=$(sed -n '/^dependencies = \[/,/^\]/p' pyproject.toml | grep -o '"[^"]*"' | tr -d '"')
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install -q $deps
    touch "$VENV/.complete"
fi
"$VENV/bin/pip" install -q --no-deps --no-build-isolation -e . >/dev/null
ln -sfn "$VENV" .venv
.venv/bin/dlcourse data
