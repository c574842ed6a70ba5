#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need. Idempotent: when all are
# present it changes nothing and touches no network.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ clang bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config
  libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
  # tests, benchmarks, checks
  googletest libgtest-dev libbenchmark-dev binutils util-linux clang-format prometheus
  libclang-rt-14-dev bc
  # USDT: third-party-style probes (sys/sdt.h) for fixtures and the peer benchmark, bpftrace as peer,
  # Debian's Python with its python:* probes for `list`
  systemtap-sdt-dev bpftrace python3.11
  # database tracing: client libraries for the fixtures, throwaway servers, drivers and CLIs
  postgresql-15 postgresql-contrib mariadb-server libpq-dev libmariadb-dev libsqlite3-dev sqlite3
  python3-psycopg2
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
