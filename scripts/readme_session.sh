#!/usr/bin/env bash
# Print the README's CLI session: the fenced block under "## A first session from the command line".
# Used by scripts/fresh_clone_check.sh and tests/workspace/test_readme_session.py, so both run the README verbatim.
set -euo pipefail
readme="${1:-README.md}"
awk '
    /^## A first session from the command line/ { section = 1; next }
    section && /^## / { exit }
    section && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }
' "$readme"
