#!/usr/bin/env bash
# Installs every system package tapir builds with, from Debian's archive, when missing.
# Used by the README and by .ci/run. Safe to run again: it installs only what is absent.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  xtl-dev libxsimd-dev xtensor-dev libxtensor-blas-dev
  doctest-dev libfmt-dev libopenblas-dev liblapacke-dev
  zlib1g-dev libcli11-dev nlohmann-json3-dev libstb-dev
  # BLIS: the matrix products' library when OpenBLAS does not recognise the CPU (autodiff/blas.hpp)
  libblis4-pthread
  # fetch_data.sh (curl, certificates) and the figures of `tapir plot` / `tapir reproduce` (gnuplot)
  curl ca-certificates gnuplot-nox
  # the fuzzers (scripts/fuzz.sh): clang, libFuzzer's runtime (only recommended by clang), lld
  clang libclang-rt-dev lld
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt or dpkg (unattended upgrades, a second shell) may hold the locks for a while: wait for them
# (up to 10 minutes) instead of failing.
lock=(-o DPkg::Lock::Timeout=600)
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  $sudo apt-get "${lock[@]}" update -qq && break
  [ $attempt -lt 10 ] || { echo "setup: apt-get update kept failing (see above)" >&2; exit 1; }
  echo "setup: apt-get update failed (attempt $attempt; a lock held elsewhere?); trying again in 30 s" >&2
  sleep 30
done
$sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}"
