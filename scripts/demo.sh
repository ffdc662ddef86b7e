#!/usr/bin/env bash
# demo.sh -- build cairn (release preset) and run the live example: replicas
# of one shop's data edit the same documents apart, exchange their deltas
# as bytes in a shuffled order, and converge to the same state.
#
#   bash scripts/demo.sh [example options]    e.g. --seed 42
#
# Installs missing dependencies first (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

example=cairn-example-converge
binary=build/release/examples/$example

# shellcheck source=scripts/phase.sh
. scripts/phase.sh

phase deps bash scripts/install-deps.sh
phase configure cmake --preset release
if ! ninja -C build/release -t targets all 2>/dev/null | grep -q "^$example:"; then
	echo "demo.sh: the build has no target $example." >&2
	echo "It comes from examples/converge.c via examples/CMakeLists.txt;" >&2
	echo "check that both exist and CAIRN_BUILD_EXAMPLES is ON." >&2
	exit 1
fi
phase build cmake --build --preset release --target "$example"
if [ ! -x "$binary" ]; then
	echo "demo.sh: $binary was not produced by the build." >&2
	exit 1
fi
echo "==> run: $binary $*"
exec "$binary" "$@"
