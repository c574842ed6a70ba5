#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need. Idempotent: when all are
# present it changes nothing and touches no network.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ clang bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config
  libcli11-dev nlohmann-json3-dev prometheus-cpp-dev libcrypt-dev
  # x86 disassembly: the exit instructions of traced functions (exception-safe return probes)
  libzydis-dev
  # tests, benchmarks, checks
  googletest libgtest-dev libbenchmark-dev binutils util-linux clang-format prometheus
  libclang-rt-14-dev bc locales
  # --summary's terminal test drives the agent in a real terminal
  tmux
  # USDT: third-party-style probes (sys/sdt.h) for fixtures and the peer benchmark, bpftrace as peer,
  # Debian's Python with its python:* probes for `list`
  systemtap-sdt-dev bpftrace python3.11
  # database tracing: client libraries for the fixtures, throwaway servers, drivers and CLIs
  postgresql-15 postgresql-contrib mariadb-server libpq-dev libmariadb-dev libsqlite3-dev sqlite3
  python3-psycopg2
  # Go fixtures: --fn on Go executables (per-goroutine pairing, stack growth)
  golang-go
  # deploy/ and its checks (tests/deploy/run.sh): the base image, the container engine (runc: crun
  # refuses hybrid cgroup hosts), linters, and what drives the running agent and Prometheus
  mmdebstrap podman runc yamllint python3-yaml jq curl systemd libcap2-bin
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
else
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

# A collating locale, for the test that JSONL file names sort in time order under `ls` and shell
# globs in a typical user locale, not only byte by byte.
if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: the en_US.UTF-8 locale is missing; run as root to generate it" >&2
    exit 1
  fi
  sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
  grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >>/etc/locale.gen
  locale-gen
fi
