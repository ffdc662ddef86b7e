#!/usr/bin/env bash
# test.sh -- THE test command: the whole suite under AddressSanitizer and
# UndefinedBehaviorSanitizer, from a fresh Debian 12 machine.
#
#   bash scripts/test.sh [ctest options]     e.g. -L unit, -LE slow, -R sim
#
# Installs missing dependencies (scripts/install-deps.sh), configures and
# builds the asan preset (build/asan), and runs ctest with the asan test
# preset: every label, 2 jobs, output of failing tests shown. Exits non-zero
# if any step or any test fails; the last lines are ctest's summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/phase.sh
. scripts/phase.sh

phase deps bash scripts/install-deps.sh
phase configure cmake --preset asan
phase build cmake --build --preset asan
echo "==> test: ctest --preset asan $*"
exec ctest --preset asan "$@"
