#!/bin/bash
# make compose-test: deploy/docker-compose.yml brought up for real with
# podman-compose on the image of `make image` (built first when missing),
# and what the deployment promises checked through it:
#   1. all 15 containers up and healthy (each one's compose healthcheck);
#   2. CurveZMQ on: the keys made at first start in the volume, every
#      floodgate daemon exporting floodgate_curve 1, handshakes done;
#   3. the sentinels: each names redis as the master and sees the replica
#      and the two other sentinels;
#   4. the actuators: one says "ok active" on /healthz, the other "ok
#      standby" (floodgate_actuator_active 1 and 0);
#   5. a flood sent into each collector replica (floodgate-flowgen inside the
#      replica, to its own loopback) is banned: both detectors decide it,
#      the active actuator applies it once, the ban key is in Redis, and
#      `floodgate bans` lists it through the sentinels (the first one named
#      does not exist, redis/address is bogus); `floodgate top` (the CLI's
#      Curve key) shows the floods;
#   6. the active actuator announced their /32 with community 65535:666 to
#      its gobgpd; the standby's gobgpd has no route;
#   7. two containers without the deployment's keys join the network as
#      collectors (one without Curve, one with a key pair of its own) and are
#      flooded: their handshakes are refused (counted by the shards:
#      floodgate_zmq_handshakes_refused_total, reason protocol and auth) and
#      nothing they see is banned; a detector without Curve is refused by
#      the actuators (their refusals counted); a flood from this host to a
#      collector's published port (127.0.0.1) is banned meanwhile;
#   8. the active actuator stopped: the standby takes over (healthz "ok
#      active") and its gobgpd has every ban's route;
#   9. the Redis master stopped: the sentinels promote the replica, a new
#      flood is banned in it (and announced), the earlier bans are there,
#      `floodgate bans` follows the sentinels to it.
# Published ports are on 127.0.0.1 only; gobgpd gets a configuration
# without neighbours (nothing leaves the machine). Everything is removed at
# the end (containers, volumes, network), failed or not; FG_KEEP=1 keeps it.
# About 1.5 minutes (plus `make image` when there is no image).
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
free_port() { # a port free for TCP and UDP on 127.0.0.1
    python3 - <<'PY'
import socket, random
for _ in range(200):
    p = random.randint(20000, 60000)
    socks = []
    try:
        for t in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, t); socks.append(s); s.bind(("127.0.0.1", p))
        print(p); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
}
redis=$(free_port) bgp=$(free_port) bgp_b=$(free_port)
export FLOODGATE_IMAGE=$IMAGE
# podman refuses a host port range for one container port ("host and
# container port ranges have different lengths"): each replica gets a port
# chosen by podman on 127.0.0.1 instead ("127.0.0.1::2055/udp").
export FLOW_PORTS="127.0.0.1:" IPFIX_PORTS="127.0.0.1:" SFLOW_PORTS="127.0.0.1:"
export REDIS_PUBLISH="127.0.0.1:$redis"
export BGP_PUBLISH="127.0.0.1:$bgp" BGP_PUBLISH_B="127.0.0.1:$bgp_b" GOBGPD_CONF=$tmp/gobgpd.toml
cat > "$GOBGPD_CONF" <<'TOML'
[global.config]
  as = 64512
  router-id = "198.51.100.10"
  port = 1179
TOML
chmod 644 "$GOBGPD_CONF"; chmod 755 "$tmp"
compose() { timeout 300 podman-compose -p "$proj" -f deploy/docker-compose.yml "$@"; }
c() { echo "${proj}_$1_1"; } # the container of a service (its first replica)
rogues="${proj}_rogue-plain ${proj}_rogue-key" rogue_det=${proj}_rogue-detector

cleanup() {
    trap - EXIT INT TERM
    if [ "${FG_KEEP:-}" ]; then echo "compose-test: kept project $proj" >&2; return; fi
    compose logs >"$tmp/compose.log" 2>&1
    local r
    for r in $rogues $rogue_det; do podman logs "$r" >"$tmp/$r.log" 2>&1; podman rm -f "$r" >/dev/null 2>&1; done
    compose down -v >/dev/null 2>&1
    podman network rm -f "${proj}_default" >/dev/null 2>&1
    for r in redis-data redis-replica-data keys; do podman volume rm -f "${proj}_$r" >/dev/null 2>&1; done
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
# GET PATH from a daemon's metrics port, inside its container (the port is
# not published): the whole HTTP answer on stdout.
hget() { # container port path
    podman exec "$1" bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
        printf "GET %s HTTP/1.0\r\n\r\n" "$1" >&3; timeout 5 cat <&3' "$2" "$3" 2>/dev/null
}
# The sum of a metric's series (with LABEL, a substring, when given).
metric() { # container port name [label]
    hget "$1" "$2" /metrics | awk -v m="$3" -v l="${4:-}" \
        'index($1, m) == 1 && (substr($1, length(m) + 1, 1) ~ /^[{]?$/) && index($1, l) {s += $NF}
         END {print s + 0}'
}

t0=$SECONDS
compose up -d >"$tmp/up.log" 2>&1 || { tail -20 "$tmp/up.log" >&2; die "podman-compose up failed"; }
services="redis redis-replica sentinel-0 sentinel-1 sentinel-2 gobgpd gobgpd-b collector
collector aggregator-0 aggregator-1 detector detector-b actuator actuator-b"
containers=$(for s in $services; do echo "${proj}_${s}_"; done | awk '{n[$0]++; print $0 n[$0]}')
healthy() {
    local x
    for x in $containers; do
        podman healthcheck run "$x" >/dev/null 2>&1 || { bad=$x; return 1; }
    done
}
wait_for 120 healthy || die "$bad not healthy: $(podman logs --tail 5 "$bad" 2>&1)"
pass "all $(wc -w <<<"$containers") containers up and healthy in $((SECONDS - t0)) s"

# ---- 2. Curve ----
keys=$(podman exec "$(c aggregator-0)" ls /etc/floodgate/keys 2>&1)
for k in collector aggregator detector actuator cli; do
    grep -qx "$k.key_secret" <<<"$keys" || die "no $k key pair in the keys volume: $keys"
done
for x in "collector 9551" "aggregator-0 9560" "aggregator-1 9561" "detector 9552" \
    "detector-b 9552" "actuator 9553" "actuator-b 9553"; do
    set -- $x
    [ "$(metric "$(c "$1")" "$2" floodgate_curve)" = 1 ] || die "$1 does not say floodgate_curve 1"
done
done_hs() { [ "$(metric "$(c aggregator-0)" 9560 floodgate_zmq_handshakes_total)" -ge 3 ]; }
wait_for 20 done_hs || die "aggregator-0 completed fewer than 3 handshakes (2 collectors, 2 detectors)"
pass "CurveZMQ on: key pairs made in the volume, floodgate_curve 1 in every daemon, handshakes done"

# ---- 3. sentinels ----
sentinel_sees() { # sentinel: the master, its replica and the 2 other sentinels
    local m
    m=$(podman exec "$(c "$1")" redis-cli -p 26379 sentinel master floodgate 2>/dev/null) || return 1
    [ "$(awk 'p {print; exit} $0 == "ip" {p = 1}' <<<"$m")" = redis ] &&
        [ "$(awk 'p {print; exit} $0 == "num-slaves" {p = 1}' <<<"$m")" = 1 ] &&
        [ "$(awk 'p {print; exit} $0 == "num-other-sentinels" {p = 1}' <<<"$m")" = 2 ]
}
for s in sentinel-0 sentinel-1 sentinel-2; do
    wait_for 30 sentinel_sees "$s" ||
        die "$s: $(podman exec "$(c "$s")" redis-cli -p 26379 sentinel master floodgate 2>&1 | paste -sd ' ')"
done
pass "each sentinel names redis as the master, with 1 replica and 2 other sentinels"

# ---- 4. one actuator active, the other standby ----
role() { hget "$(c "$1")" 9553 /healthz | tail -1 | awk '{print $1, $2}'; }
roles_ok() {
    ra=$(role actuator) rb=$(role actuator-b)
    case "$ra/$rb" in
    "ok active/ok standby") active=actuator standby=actuator-b ;;
    "ok standby/ok active") active=actuator-b standby=actuator ;;
    *) return 1 ;;
    esac
}
wait_for 20 roles_ok || die "actuators not one active, one standby: actuator \"$ra\", actuator-b \"$rb\""
speaker() { [ "$1" = actuator ] && echo gobgpd || echo gobgpd-b; }
[ "$(metric "$(c "$active")" 9553 floodgate_actuator_active)" = 1 ] &&
    [ "$(metric "$(c "$standby")" 9553 floodgate_actuator_active)" = 0 ] ||
    die "floodgate_actuator_active is not 1 on $active and 0 on $standby"
pass "$active is active, $standby standby (/healthz and floodgate_actuator_active)"

# ---- 5. floods into the collector replicas ----
banned() { [ "$(podman exec "$(c redis)" redis-cli exists "floodgate:ban:$1" 2>/dev/null)" = 1 ]; }
podman exec -d "$(c collector)" floodgate-flowgen -d 127.0.0.1:2055 --dst 10.0.0.5 \
    --pps 60000 --duration 15 >/dev/null
podman exec -d "${proj}_collector_2" floodgate-flowgen -d 127.0.0.1:2055 --dst 10.0.0.7 \
    --pps 60000 --duration 15 >/dev/null
wait_for 30 banned 10.0.0.5 || die "10.0.0.5 (flood into collector replica 1) not banned"
wait_for 30 banned 10.0.0.7 || die "10.0.0.7 (flood into collector replica 2) not banned"
# both detectors decided both bans; the active actuator applied each once
both_decided() {
    [ "$(metric "$(c detector)" 9552 floodgate_detector_decisions_total 'type="ban"')" -ge 2 ] &&
        [ "$(metric "$(c detector-b)" 9552 floodgate_detector_decisions_total 'type="ban"')" -ge 2 ]
}
wait_for 10 both_decided || die "not both detectors decided both bans: detector $(metric "$(c detector)" 9552 \
    floodgate_detector_decisions_total 'type="ban"'), detector-b $(metric "$(c detector-b)" 9552 \
    floodgate_detector_decisions_total 'type="ban"')"
applied=$(metric "$(c "$active")" 9553 floodgate_actuator_bans_total 'result="applied"')
[ "$applied" = 2 ] || die "the active actuator applied $applied bans for 2 attacks seen by 2 detectors"
list=$(podman exec -e FLOODGATE_REDIS_ADDRESS=nowhere.invalid:6379 \
    -e FLOODGATE_REDIS_SENTINELS="nowhere.invalid:26379 sentinel-1:26379 sentinel-2:26379" \
    "$(c detector)" floodgate bans 2>&1)
grep -q '10\.0\.0\.5 ' <<<"$list" && grep -q '10\.0\.0\.7 ' <<<"$list" ||
    die "floodgate bans through the sentinels does not list them: $list"
pass "a flood into each collector replica is banned (in Redis, decided by both detectors, applied once; floodgate bans through the sentinels lists them)"
# floodgate top subscribes to the shards with the CLI's key (cli.key, allowed
# by them): the flood still going on is in its table
top=$(timeout 20 podman exec "$(c detector)" floodgate top --once 2>&1)
grep -Eq '10\.0\.0\.(5|7)( |$)' <<<"$top" || die "floodgate top (Curve, the CLI's key) does not show the floods: $top"
pass "floodgate top through Curve shows the floods"

# ---- 6. routes through the active actuator's gobgpd only ----
rib() { podman exec "$(c "$1")" gobgp global rib -a ipv4 2>&1; }
routed() { rib "$1" | grep -q "$2/32"; }
sp=$(speaker "$active") ssp=$(speaker "$standby")
wait_for 20 routed "$sp" 10.0.0.5 && wait_for 20 routed "$sp" 10.0.0.7 ||
    die "$sp's RIB lacks the blackhole routes: $(rib "$sp")"
grep "10.0.0.5/32" <<<"$(rib "$sp")" | grep -Eq "65535:666|blackhole" ||
    die "10.0.0.5/32 without the BLACKHOLE community: $(rib "$sp")"
! routed "$ssp" 10.0.0.5 || die "the standby's $ssp announces 10.0.0.5/32 too: $(rib "$ssp")"
pass "$active announced both through $sp (/32 with 65535:666, \"blackhole\" in gobgp); $ssp has none"

# ---- 7. containers without the keys, and a flood from the host meanwhile ----
refused() { # reason: handshakes refused by both shards
    echo $(($(metric "$(c aggregator-0)" 9560 floodgate_zmq_handshakes_refused_total "reason=\"$1\"") +
        $(metric "$(c aggregator-1)" 9561 floodgate_zmq_handshakes_refused_total "reason=\"$1\"")))
}
act_refused() { # handshakes refused by both actuators
    echo $(($(metric "$(c actuator)" 9553 floodgate_zmq_handshakes_refused_total) +
        $(metric "$(c actuator-b)" 9553 floodgate_zmq_handshakes_refused_total)))
}
auth0=$(refused auth) proto0=$(refused protocol) act0=$(act_refused)
mkdir -p "$tmp/rogue" && chmod 755 "$tmp/rogue"
# the shards' public key is public: the keyed rogue knows it, its own key is not allowed
podman exec "$(c aggregator-0)" cat /etc/floodgate/keys/aggregator.key >"$tmp/rogue/aggregator.key"
chmod 644 "$tmp/rogue/aggregator.key"
renv=(-e FLOODGATE_AGGREGATOR_SHARDS=2
    -e "FLOODGATE_AGGREGATOR_PULL_CONNECT=tcp://aggregator-0:5550 tcp://aggregator-1:5551"
    -e FLOODGATE_COLLECTOR_ID=4242 -e FLOODGATE_COLLECTOR_NETFLOW_LISTEN=127.0.0.1:2055)
podman run -d --name "${proj}_rogue-plain" --network "${proj}_default" "${renv[@]}" \
    -e FLOODGATE_CURVE_ENABLE=false "$IMAGE" floodgate-collector >/dev/null 2>>"$tmp/podman.log" ||
    die "cannot start the rogue collector without Curve"
podman run -d --name "${proj}_rogue-key" --network "${proj}_default" "${renv[@]}" \
    -e FLOODGATE_CURVE_ENABLE=true -e FLOODGATE_COLLECTOR_CERT=/tmp/k/collector.key_secret \
    -e FLOODGATE_AGGREGATOR_PUBLIC_KEY=/rogue/aggregator.key -v "$tmp/rogue:/rogue:ro" \
    --entrypoint sh "$IMAGE" -c 'mkdir -p /tmp/k && floodgate keygen collector /tmp/k >/dev/null &&
        exec floodgate-collector' >/dev/null 2>>"$tmp/podman.log" || die "cannot start the rogue collector with its own key"
# and a detector without Curve, that would send decisions to the actuators
podman run -d --name "$rogue_det" --network "${proj}_default" -e FLOODGATE_CURVE_ENABLE=false \
    -e FLOODGATE_AGGREGATOR_SHARDS=2 \
    -e "FLOODGATE_AGGREGATOR_PUB_CONNECT=tcp://aggregator-0:5560 tcp://aggregator-1:5561" \
    -e "FLOODGATE_ACTUATOR_CONNECT=tcp://actuator:5570 tcp://actuator-b:5570" \
    "$IMAGE" floodgate-detector >/dev/null 2>>"$tmp/podman.log" || die "cannot start the rogue detector"
running() { [ "$(podman inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
# a collector binds its UDP port before it connects anywhere
for r in $rogues $rogue_det; do
    wait_for 20 running "$r" || die "$r is not running: $(podman logs --tail 5 "$r" 2>&1)"
done
podman exec -d "${proj}_rogue-plain" floodgate-flowgen -d 127.0.0.1:2055 --dst 10.0.0.66 \
    --pps 60000 --duration 12 >/dev/null
podman exec -d "${proj}_rogue-key" floodgate-flowgen -d 127.0.0.1:2055 --dst 10.0.0.67 \
    --pps 60000 --duration 12 >/dev/null
# Through the published port: which host port did replica 1 get?
port=$(podman port "$(c collector)" 2055/udp | sed -n 's/.*:\([0-9]*\)$/\1/p' | head -1)
[ -n "$port" ] || die "collector_1 has no published 2055/udp"
# floodgate-flowgen of the image, in this host's network namespace (nothing
# to build on the host)
podman run --rm --network host --entrypoint floodgate-flowgen "$IMAGE" -d "127.0.0.1:$port" \
    --dst 10.0.0.9 --pps 60000 --duration 12 >"$tmp/flowgen-host.log" 2>&1 &
fg=$!
wait_for 30 banned 10.0.0.9 || die "10.0.0.9 (flood from the host to published port $port) not banned"
wait $fg
refusals() { [ "$(refused auth)" -gt "$auth0" ] && [ "$(refused protocol)" -gt "$proto0" ]; }
wait_for 10 refusals || die "the shards did not count the rogues' refused handshakes: auth $auth0 -> $(refused auth), protocol $proto0 -> $(refused protocol)"
act_refusals() { [ "$(act_refused)" -gt "$act0" ]; }
wait_for 10 act_refusals || die "the actuators did not count the rogue detector's refused handshakes ($act0 -> $(act_refused))"
sleep 3 # a window and a decision later than the real ban
for ip in 10.0.0.66 10.0.0.67; do ! banned $ip || die "$ip (seen only by a rogue collector) is banned"; done
# ... though each rogue decoded its flood (the refusal is what kept it out)
for r in $rogues; do
    n=$(metric "$r" 9551 floodgate_collector_records_total 'result="decoded"')
    [ "$n" -ge 10000 ] || die "$r decoded only $n records of its flood: the test proves nothing"
done
pass "rogue collectors refused by the shards (auth $auth0 -> $(refused auth), protocol $proto0 -> $(refused protocol)), their floods not banned; a rogue detector refused by the actuators ($act0 -> $(act_refused)); the host's flood to 127.0.0.1:$port/udp banned meanwhile"

# ---- 8. takeover ----
t1=$SECONDS
podman stop -t 1 "$(c "$active")" >/dev/null 2>>"$tmp/podman.log" || die "cannot stop $active"
is_active() { [ "$(role "$standby")" = "ok active" ]; }
wait_for 20 is_active || die "$standby did not take over: \"$(role "$standby")\""
for ip in 10.0.0.5 10.0.0.7 10.0.0.9; do
    wait_for 10 routed "$ssp" $ip || die "$ssp lacks $ip/32 after the takeover: $(rib "$ssp")"
done
pass "$active stopped: $standby active and every ban announced through $ssp within $((SECONDS - t1)) s"

# ---- 9. the Redis master stopped: the sentinels promote the replica ----
t1=$SECONDS
podman stop -t 1 "$(c redis)" >/dev/null 2>>"$tmp/podman.log" || die "cannot stop redis"
promoted() {
    [ "$(podman exec "$(c sentinel-1)" redis-cli -p 26379 sentinel get-master-addr-by-name floodgate 2>/dev/null |
        head -1)" = redis-replica ] &&
        podman exec "$(c redis-replica)" redis-cli role 2>/dev/null | head -1 | grep -qx master
}
wait_for 30 promoted || die "the sentinels did not promote redis-replica: $(podman exec "$(c sentinel-1)" \
    redis-cli -p 26379 sentinel get-master-addr-by-name floodgate 2>&1 | paste -sd ' ')"
tp=$((SECONDS - t1))
podman exec -d "${proj}_collector_2" floodgate-flowgen -d 127.0.0.1:2055 --dst 10.0.0.11 \
    --pps 60000 --duration 12 >/dev/null
banned_b() { [ "$(podman exec "$(c redis-replica)" redis-cli exists "floodgate:ban:$1" 2>/dev/null)" = 1 ]; }
wait_for 30 banned_b 10.0.0.11 || die "10.0.0.11 (flood after the failover) not banned in the new master"
banned_b 10.0.0.5 || die "10.0.0.5's ban did not survive the failover"
wait_for 10 routed "$ssp" 10.0.0.11 || die "$ssp lacks 10.0.0.11/32 after the failover: $(rib "$ssp")"
list=$(podman exec "$(c detector)" floodgate bans 2>&1)
grep -q '10\.0\.0\.11 ' <<<"$list" || die "floodgate bans after the failover does not list 10.0.0.11: $list"
pass "redis stopped: redis-replica master after $tp s; a new flood banned there and announced (ban $((SECONDS - t1)) s after the stop), the earlier bans kept, floodgate bans follows"
echo "compose-test: all checks passed in $((SECONDS - t0)) s"
