#!/bin/bash
# make compose-test: deploy/docker-compose.yml brought up for real with
# podman-compose on the image of `make image` (built first when missing),
# and the flood scenario run through it:
#   - every service up and healthy (floodgate-healthcheck in each container);
#   - a flood sent into each collector replica (floodgate-flowgen inside the
#     replica, to its own loopback) is banned: the ban key is in the compose
#     Redis, and `floodgate bans` in the actuator container lists it;
#   - the actuator announced their /32 with community 65535:666 to gobgpd;
#   - a flood sent from this host to a collector's published UDP port (on
#     127.0.0.1) is banned too.
# Published ports are on 127.0.0.1 only; gobgpd gets a configuration
# without neighbours (nothing leaves the machine). Everything is removed at
# the end (containers, volume, network), failed or not; FG_KEEP=1 keeps it.
set -u
B=${1:-build}
IMAGE=${IMAGE:-localhost/floodgate:latest}
if [ -z "${CONTAINERS_CONF:-}" ]; then
    export CONTAINERS_CONF=$PWD/$B/containers.conf
fi
[ -s "$CONTAINERS_CONF" ] && podman image exists "$IMAGE" 2>/dev/null || deploy/image.sh || exit 1
need=""
command -v podman-compose >/dev/null || need="$need podman-compose"
# service names (redis, aggregator-0, ...) resolve only with the dnsname plugin
[ -e /usr/lib/cni/dnsname ] || need="$need golang-github-containernetworking-plugin-dnsname"
[ -z "$need" ] || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -qq \
    install --no-install-recommends $need >/dev/null

proj=fgcompose$$
tmp=$(mktemp -d /tmp/fg-compose.XXXXXX)
failed=0
free_port() { # a port free for TCP and UDP on 127.0.0.1, and the next few
    python3 - "$1" <<'PY'
import socket, sys, random
n = int(sys.argv[1])
for _ in range(200):
    p = random.randint(20000, 60000 - n)
    try:
        socks = []
        for q in range(p, p + n):
            for t in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(socket.AF_INET, t); s.bind(("127.0.0.1", q)); socks.append(s)
        print(p); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
}
redis=$(free_port 1) bgp=$(free_port 1)
export FLOODGATE_IMAGE=$IMAGE
# podman refuses a host port range for one container port ("host and
# container port ranges have different lengths"): each replica gets a port
# chosen by podman on 127.0.0.1 instead ("127.0.0.1::2055/udp").
export FLOW_PORTS="127.0.0.1:" IPFIX_PORTS="127.0.0.1:" SFLOW_PORTS="127.0.0.1:"
export REDIS_PUBLISH="127.0.0.1:$redis"
export BGP_PUBLISH="127.0.0.1:$bgp" GOBGPD_CONF=$tmp/gobgpd.toml
cat > "$GOBGPD_CONF" <<'TOML'
[global.config]
  as = 64512
  router-id = "198.51.100.10"
  port = 1179
TOML
chmod 644 "$GOBGPD_CONF"; chmod 755 "$tmp"
compose() { podman-compose -p "$proj" -f deploy/docker-compose.yml "$@"; }

cleanup() {
    trap - EXIT INT TERM
    if [ "${FG_KEEP:-}" ]; then echo "compose-test: kept project $proj" >&2; return; fi
    compose logs >"$tmp/compose.log" 2>&1
    compose down -v >/dev/null 2>&1
    podman network rm -f "${proj}_default" >/dev/null 2>&1
    podman volume rm -f "${proj}_redis-data" >/dev/null 2>&1
    if [ $failed = 0 ]; then rm -rf "$tmp"; else echo "compose-test: logs in $tmp" >&2; fi
}
trap cleanup EXIT
trap 'failed=1; exit 1' INT TERM
die() { failed=1; echo "compose-test: FAIL: $*" >&2; exit 1; }
pass() { echo "compose-test: ok: $*"; }
wait_for() { # seconds command...
    local end=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 1; done
}

t0=$SECONDS
compose up -d >"$tmp/up.log" 2>&1 || { tail -20 "$tmp/up.log" >&2; die "podman-compose up failed"; }
services="redis_1 gobgpd_1 collector_1 collector_2 aggregator-0_1 aggregator-1_1 detector_1 actuator_1"
healthy() {
    local c
    for c in $services; do
        podman exec "${proj}_$c" floodgate-healthcheck >/dev/null 2>&1 || { bad=$c; return 1; }
    done
}
wait_for 90 healthy || die "${proj}_$bad not healthy: $(podman logs --tail 5 "${proj}_$bad" 2>&1)"
pass "all 8 containers up and healthy in $((SECONDS - t0)) s"

banned() { [ "$(podman exec "${proj}_redis_1" redis-cli exists "floodgate:ban:$1" 2>/dev/null)" = 1 ]; }
podman exec -d "${proj}_collector_1" floodgate-flowgen -d 127.0.0.1:2055 --dst 10.0.0.5 \
    --pps 60000 --duration 15 >/dev/null
podman exec -d "${proj}_collector_2" floodgate-flowgen -d 127.0.0.1:2055 --dst 10.0.0.7 \
    --pps 60000 --duration 15 >/dev/null
wait_for 30 banned 10.0.0.5 || die "10.0.0.5 (flood into collector replica 1) not banned"
wait_for 30 banned 10.0.0.7 || die "10.0.0.7 (flood into collector replica 2) not banned"
list=$(podman exec "${proj}_actuator_1" floodgate bans 2>&1)
grep -q '10\.0\.0\.5 ' <<<"$list" && grep -q '10\.0\.0\.7 ' <<<"$list" ||
    die "floodgate bans in the actuator container does not list them: $list"
pass "a flood into each collector replica is banned (redis-cli and floodgate bans agree)"
routed() { podman exec "${proj}_gobgpd_1" gobgp global rib -a ipv4 2>/dev/null | grep -q "$1/32"; }
wait_for 20 routed 10.0.0.5 && wait_for 20 routed 10.0.0.7 ||
    die "gobgpd's RIB lacks the blackhole routes: $(podman exec "${proj}_gobgpd_1" gobgp global rib -a ipv4 2>&1)"
rib=$(podman exec "${proj}_gobgpd_1" gobgp global rib -a ipv4 2>&1)
grep "10.0.0.5/32" <<<"$rib" | grep -Eq "65535:666|blackhole" || die "10.0.0.5/32 without the BLACKHOLE community: $rib"
pass "the actuator announced both through gobgpd (10.0.0.5/32, 10.0.0.7/32 with 65535:666, which gobgp shows as \"blackhole\")"

# Through the published port: which host port did replica 1 get?
port=$(podman port "${proj}_collector_1" 2055/udp | sed -n 's/.*:\([0-9]*\)$/\1/p' | head -1)
[ -n "$port" ] || die "collector_1 has no published 2055/udp"
# floodgate-flowgen of the image, in this host's network namespace (nothing
# to build on the host)
podman run --rm --network host --entrypoint floodgate-flowgen "$IMAGE" -d "127.0.0.1:$port" \
    --dst 10.0.0.9 --pps 60000 --duration 10 >"$tmp/flowgen-host.log" 2>&1 &
fg=$!
wait_for 30 banned 10.0.0.9 || die "10.0.0.9 (flood from the host to published port $port) not banned"
wait $fg
pass "a flood from the host to the published port 127.0.0.1:$port/udp is banned"
echo "compose-test: all checks passed in $((SECONDS - t0)) s"
