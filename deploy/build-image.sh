#!/usr/bin/env bash
# Builds the profilis-agent image with podman from Debian's package archive alone: mmdebstrap makes
# a Debian 12 (minbase) root file system, podman imports it as the base image, and
# deploy/Dockerfile builds the agent on it and copies it into a runtime image on the same base.
# Usage: deploy/build-image.sh [IMAGE [WORKDIR]]
#   IMAGE   the tag to build (default localhost/profilis-agent:latest)
#   WORKDIR where the base tarball is kept between runs (default build/deploy); delete it to
#           bootstrap again.
# PROFILIS_IMAGE_CACHE=1 lets podman reuse the layers of an earlier build (by default each build
# starts from the base, as CI's does).
# Needs root (mmdebstrap in root mode, rootful podman), mmdebstrap and podman.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
image=${1:-localhost/profilis-agent:latest}
work=${2:-$root/build/deploy}
mirror=${PROFILIS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${PROFILIS_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
mkdir -p "$work"

tarball=$work/debian-bookworm-minbase.tar
if [[ ! -s $tarball ]]; then
  echo "build-image: mmdebstrap bookworm (minbase) -> $tarball"
  mmdebstrap --quiet --variant=minbase --format=tar bookworm "$tarball.part" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb $security bookworm-security main"
  mv "$tarball.part" "$tarball"
fi
# Imported once per tarball (each import is a new image, which no cached layer builds on), and
# tagged by it; the bases of earlier tarballs are removed.
base_image=localhost/profilis-debian:bookworm-$(stat -c %Y "$tarball")
if ! podman image exists "$base_image"; then
  for old in $(podman images --format '{{.Repository}}:{{.Tag}}' localhost/profilis-debian); do
    podman rmi "$old" >/dev/null 2>&1 || true
  done
  echo "build-image: importing $tarball as $base_image"
  podman import --quiet "$tarball" "$base_image" >/dev/null
fi

# The build context is the sources the agent is built from, not the build trees beside them.
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp -a "$root"/{CMakeLists.txt,cmake,bpf,vmlinux,include,agent,exporters,demo} "$context"/
# chroot isolation: RUN steps need no OCI runtime, cgroups or rlimits (apt-get, the compiler), so
# the build works wherever podman is installed; host networking reaches the Debian mirror.
echo "build-image: podman build $image (FROM $base_image)"
previous=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
cache=(--no-cache)
[[ ${PROFILIS_IMAGE_CACHE:-} == 1 ]] && cache=()
podman build "${cache[@]}" --isolation chroot --network host --build-arg "BASE=$base_image" \
  -f "$root/deploy/Dockerfile" -t "$image" "$context"
podman image prune -f --filter label=org.profilis.stage=build >/dev/null
# The image this tag named before, now untagged.
if [[ -n $previous && $previous != $(podman image inspect --format '{{.Id}}' "$image") ]]; then
  podman rmi "$previous" >/dev/null 2>&1 || true
fi
podman image ls "$image"
