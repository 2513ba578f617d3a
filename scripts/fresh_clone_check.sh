#!/usr/bin/env bash
# What a newcomer does on a fresh machine, checked: clone this repository into a temporary folder, run the README's
# two set-up commands, then the README's CLI session exactly as written (line by line, stopping at the first error).
#
#   scripts/fresh_clone_check.sh            # the whole test suite as `make test` runs it (≈ 3 min after install)
#   FRESH_TESTS="tests/workspace/test_cli_conventions.py" scripts/fresh_clone_check.sh   # a quicker subset
#   KEEP=1 scripts/fresh_clone_check.sh     # keep the clone (printed) to look at afterwards
#
# `make run` opens a window: here it runs offscreen for RUN_SECONDS (default 20) and passes if the app is still up
# then. Only commits are checked: uncommitted changes are not in the clone.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/shrinkwise-fresh.XXXXXX")"
home="$work/home"
mkdir -p "$home"
cleanup() { if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept: $work"; fi; }
trap cleanup EXIT

echo "== clone $repo -> $work/clone"
git clone --quiet "$repo" "$work/clone"
cd "$work/clone"

echo "== make run (offscreen, ${RUN_SECONDS:-20} s after the install)"
start=$(date +%s)
make venv
echo "   installed in $(( $(date +%s) - start )) s"
set +e
HOME="$home" XDG_DATA_HOME="$home/.local/share" QT_QPA_PLATFORM=offscreen timeout "${RUN_SECONDS:-20}" make run
code=$?
set -e
if [ "$code" -ne 124 ]; then echo "make run ended on its own (exit $code) instead of showing the app"; exit 1; fi

echo "== make test${FRESH_TESTS:+ (limited to: $FRESH_TESTS)}"
if [ -n "${FRESH_TESTS:-}" ]; then
    make lint
    # shellcheck disable=SC2086 # a list of test paths, split on purpose
    QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -q $FRESH_TESTS
else
    make test
fi

echo "== the README's CLI session, verbatim (HOME=$home)"
scripts/readme_session.sh README.md > "$work/session.sh"
cat "$work/session.sh"
HOME="$home" XDG_DATA_HOME="$home/.local/share" bash -e -x "$work/session.sh"

echo "== fresh clone check passed"
