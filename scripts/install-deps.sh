#!/usr/bin/env bash
# install-deps.sh -- install what building and testing cairn needs on
# Debian 12 (bookworm), and nothing that is already there.
#
#   bash scripts/install-deps.sh [--fuzz] [--valgrind]
#
#   --fuzz      also clang and libclang-rt-14-dev (the fuzz preset)
#   --valgrind  also valgrind
#
# Run as root, or as a user who may sudo. When every package is installed
# already, apt is not touched at all (no network, no root needed).
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config
	libuv1-dev libsodium-dev libmsgpack-dev libmbedtls-dev libcmocka-dev)

for arg in "$@"; do
	case "$arg" in
	--fuzz) packages+=(clang libclang-rt-14-dev) ;;
	--valgrind) packages+=(valgrind) ;;
	-h | --help)
		sed -n '2,12s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*)
		echo "install-deps.sh: unknown option '$arg' (try --help)" >&2
		exit 2
		;;
	esac
done

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps.sh: this script needs Debian (apt-get, dpkg-query)." >&2
	echo "Install these packages or their equivalents by hand:" >&2
	echo "  ${packages[*]}" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps.sh: all ${#packages[@]} packages are installed"
else
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo=(sudo)
		else
			echo "install-deps.sh: missing packages (${missing[*]})," >&2
			echo "and this is not root and sudo is not installed." >&2
			echo "Run it as root: su -c 'bash scripts/install-deps.sh${*:+ $*}'" >&2
			exit 1
		fi
	fi
	echo "install-deps.sh: installing ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "${missing[@]}"
fi

# CMakePresets.json version 6 needs CMake 3.25 (Debian 12 has 3.25.1).
cmake_version=$(cmake --version | sed -n '1s/^cmake version \([0-9.]*\).*/\1/p')
if ! printf '3.25\n%s\n' "$cmake_version" | sort -V -C; then
	echo "install-deps.sh: cmake $cmake_version is too old; cairn needs 3.25" >&2
	exit 1
fi
