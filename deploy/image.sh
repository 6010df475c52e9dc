#!/bin/bash
# make image: build the floodgate container image with podman, from nothing
# but Debian's archive (no image registry needed):
#   1. a Debian 12 base image: debootstrap --variant=minbase, podman import
#      as localhost/debian:12 (skipped when it exists; REBASE=1 remakes it);
#   2. podman build -f deploy/Dockerfile --build-arg BASE=localhost/debian:12
#      -t localhost/floodgate:latest (IMAGE=... for another name).
# Installs podman, runc and debootstrap when missing. Unless CONTAINERS_CONF
# is set, podman runs with build/containers.conf, which works around two
# refusals seen on hosts like the test machines: "error setting rlimit type 7"
# (lower default ulimits) and crun's "cgroups in hybrid mode not supported"
# (runc instead). deploy/compose-test.sh uses the same file.
set -eu
IMAGE=${IMAGE:-localhost/floodgate:latest}
BASE=${BASE:-localhost/debian:12}
B=${B:-build}
mkdir -p "$B"

need=""
command -v podman >/dev/null || need="$need podman"
command -v debootstrap >/dev/null || need="$need debootstrap"
command -v runc >/dev/null || need="$need runc"
# service names resolve on a compose network only with the dnsname plugin
[ -e /usr/lib/cni/dnsname ] || need="$need golang-github-containernetworking-plugin-dnsname"
if [ -n "$need" ]; then
    echo "image.sh: installing$need" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 -y -qq \
        install --no-install-recommends $need uidmap slirp4netns fuse-overlayfs >/dev/null
fi

if [ -z "${CONTAINERS_CONF:-}" ]; then
    export CONTAINERS_CONF=$PWD/$B/containers.conf
    printf '%s\n' '[containers]' \
        'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]' \
        '[engine]' 'runtime = "runc"' > "$CONTAINERS_CONF"
fi

# The Debian mirror this machine uses (deb822 or one-line sources).
mirror() {
    local m
    m=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$m" ] || m=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    echo "${m:-http://deb.debian.org/debian}"
}

if [ -n "${REBASE:-}" ] || ! podman image exists "$BASE"; then
    root=$(mktemp -d /tmp/fg-rootfs.XXXXXX)
    trap 'rm -rf "$root"' EXIT
    echo "image.sh: debootstrap --variant=minbase bookworm from $(mirror)" >&2
    t0=$SECONDS
    debootstrap --variant=minbase bookworm "$root" "$(mirror)" >"$B/debootstrap.log" 2>&1 ||
        { tail -20 "$B/debootstrap.log" >&2; exit 1; }
    # the image's apt uses the same mirror
    echo "deb $(mirror) bookworm main" > "$root/etc/apt/sources.list"
    tar -C "$root" -c . | podman import - "$BASE" >/dev/null
    echo "image.sh: base $BASE made in $((SECONDS - t0)) s" >&2
    rm -rf "$root"
fi

t0=$SECONDS
podman build --format docker -f deploy/Dockerfile --build-arg BASE="$BASE" -t "$IMAGE" . \
    >"$B/image-build.log" 2>&1 || { tail -30 "$B/image-build.log" >&2; exit 1; }
echo "image.sh: $IMAGE built in $((SECONDS - t0)) s ($(podman image inspect "$IMAGE" --format '{{.Size}}') bytes)" >&2
