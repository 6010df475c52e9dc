#!/bin/sh
# Install what floodgate needs to build, run and test, from Debian 12 packages.
# Idempotent: does nothing (no apt-get call at all) when every package is there.
set -eu

PKGS="build-essential pkg-config
libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler
libhiredis-dev libcmocka-dev libmicrohttpd-dev libjansson-dev libpcap-dev redis-server redis-tools
python3 python3-scapy iproute2 procps
docker-compose go-md2man gobgpd systemd bird2 exabgp
softflowd tshark pmacct nfdump clang libclang-rt-14-dev
prometheus"

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        "install ok installed") ;;
        *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "deps.sh: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Wait for a dpkg lock held by another apt run instead of failing at once.
APT="apt-get -o DPkg::Lock::Timeout=300 -y -qq"
$SUDO $APT update
# shellcheck disable=SC2086
$SUDO $APT install --no-install-recommends $missing >/dev/null
