#!/usr/bin/env bash
# Installs the Debian packages spprof needs to build, test and demo, but only those missing,
# so a second run costs nothing. Needs root (or sudo) on a Debian/Ubuntu machine.
set -euo pipefail

PACKAGES=(
    bazel-bootstrap   # Bazel 4.2.3, with the JDK it runs on
    gcc libc6-dev
    libzstd-dev libunwind-dev libxxhash-dev libdw-dev libelf-dev zlib1g-dev
    clang libclang-rt-dev  # the libFuzzer build of the reader
    zstd              # `zstd -t` checks traces in the tests
    python3           # parses JSON output in a few tests
    golang-go         # `go tool pprof` reads our pprof exports in //convert:pprof_go_test
    libxml2-utils     # xmllint checks the SVG exports
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install_deps: need root to install: ${missing[*]}" >&2; exit 2; }
    SUDO=sudo
fi
echo "install_deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
