#!/bin/bash
# multihost_ha.sh BUILD_DIR: an actuator takeover with network namespaces as
# the hosts. Needs root; prints SKIP and exits 0 without it.
#
#   host A (.11): actuator A + gobgpd A ─┐
#   host B (.12): actuator B + gobgpd B ─┼─ bridge ─ host C (.13): Redis, BIRD
#                                        │           (peering with both gobgpds),
#                                        │           collector, shard, detector,
#                                        │           flowgen (the router's export)
#
# Each host is a namespace with one veth into a bridge in a namespace of its
# own; addresses 198.51.100.0/24; BIRD has no kernel protocol. The detector,
# fed by the real collector and shard, pushes every decision to both
# actuators over CurveZMQ (a key pair per host part); lease_ms = 1000, ban_time = 3 s, BGP hold time 3 s. Two cases,
# each on fresh hosts:
#
#  kill:      during an attack (10.0.0.6, reported ONGOING throughout) and
#             while a ban (10.0.0.5) expires, everything of host A is killed
#             with kill -9 (by PID), and a new attack (10.0.0.7) starts;
#  partition: the same, but host A's link is cut (its veth down): A is alive
#             and cut off; 4 s later the link comes back and A must step down.
#
# Checked in both: B holds the lease within 2 s; BIRD's table equals Redis
# after the takeover (and, in the partition case, after A is back); every
# attack's history and events stream read "ban (renew*) unban" and agree;
# the notify scripts (one log per host, A's and B's merged by time) ran once
# per ban and unban; nothing of A's is in its log after it lost the lease.
# Measured and printed: the takeover time and how long the ongoing attack's
# route (10.0.0.6/32) was missing from BIRD.
# Everything it made is removed on exit (FG_KEEP=1 keeps the logs).
set -u
B=$(cd "${1:-build}" && pwd)
if [ "$(id -u)" != 0 ]; then
    echo "multihost_ha: SKIP: needs root to create network namespaces (run make test as root)"
    exit 0
fi
for t in ip redis-server redis-cli bird birdc gobgpd gobgp; do
    command -v "$t" >/dev/null || { echo "multihost_ha: FAIL: $t not found" >&2; exit 1; }
done

. "$(dirname "$0")/mh_lib.sh"

tag=$$
NET=198.51.100
declare -A ADDR=([ha]=11 [hb]=12 [hc]=13)
A=$NET.11 HB=$NET.12 C=$NET.13
ns() { echo "fgh$1$tag"; }
top=$(mktemp -d /tmp/fg-multihost-ha.XXXXXX)
tmp=$top
mh_trap multihost_ha "$top"

die() { failed=1; echo "multihost_ha: FAIL ($mode): $*" >&2; exit 1; }
pass() { echo "multihost_ha: ok ($mode): $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# start HOST LOG CMD...: run CMD inside HOST's namespace; its PID in $started
start() {
    local h=$1 log=$2
    shift 2
    ip netns exec "$(ns "$h")" env FLOODGATE_REDIS_ADDRESS="$C:6379" "$@" >"$tmp/$log.log" 2>&1 &
    started=$!
    pids+=("$started")
}
rcli() { ip netns exec "$(ns hc)" redis-cli -h "$C" "$@"; }
bcli() { ip netns exec "$(ns hc)" birdc -s "$tmp/bird.ctl" "$@"; }
lease() { rcli get floodgate:actuator:lease; }
lease_is() { case "$(lease)" in "$1 "*) return 0 ;; esac; return 1; }
banned() { [ "$(rcli exists "floodgate:ban:$1")" = 1 ]; }
session_up() { bcli show protocols "$1" | grep -q Established; }
# the sorted prefixes in BIRD's table, and the bans in Redis the same way
bird_set() { bcli show route | awk '$1 ~ /^[0-9.]+\/[0-9]+$/ { print $1 }' | sort -u | xargs; }
redis_set() { rcli --raw keys 'floodgate:ban:*' | sed -n 's/^floodgate:ban:\(.*\)/\1\/32/p' | sort | xargs; }
bird_is_redis() { [ "$(bird_set)" = "$(redis_set)" ]; }
in_bird() { bcli show route for "$1/32" | grep -q "^$1/32"; }
no_bans() { [ -z "$(redis_set)" ]; }
# flood IP SECONDS: the router (on host C) exports a flood against IP
flood() {
    start hc "flow-$1" "$B/floodgate-flowgen" --allow-nonlocal -d "$C:2055" \
        --dst "$1" --pps 20000 --background 10 --background-pps 20 --duration "$2"
}

setup() {
    tmp=$top/$mode
    mkdir -p "$tmp"
    mh_hosts ha hb hc
    # keys: one pair per host part (each would hold only its own secret)
    keys=$tmp/keys
    for k in collector aggregator detector actuator-a actuator-b; do
        "$B/floodgate" keygen "$k" "$keys" >/dev/null || die "floodgate keygen $k"
    done
    mkdir -p "$keys/aggregator.allowed" "$keys/actuator.allowed"
    cp "$keys/collector.key" "$keys/detector.key" "$keys/aggregator.allowed/"
    cp "$keys/detector.key" "$keys/actuator.allowed/"
    cat >"$tmp/floodgate.conf" <<CONF
general
    log_level = info
networks
    monitored = "10.0.0.0/16"
collector
    netflow_listen = "$C:2055"
    batch_ms = 10
aggregator
    shards = 1
    tick_ms = 200
    pull_bind = tcp://$C:5550
    pub_bind = tcp://$C:5560
    pull_connect = "tcp://$C:5550"
    pub_connect = "tcp://$C:5560"
    cert = $keys/aggregator.key_secret
    public_key = $keys/aggregator.key
    allowed_keys = $keys/aggregator.allowed
detector
    ongoing_interval = 1
    attack_end = 5
    cert = $keys/detector.key_secret
actuator
    connect = "tcp://$A:5570 tcp://$HB:5570"
    public_key = "$keys/actuator-a.key $keys/actuator-b.key"
    allowed_keys = $keys/actuator.allowed
    bind = "tcp://*:5570"
    check_interval = 1
    lease_ms = 1000
    renew_before = 2
    bgp_backend = gobgp
    gobgp_api = 127.0.0.1:50051
    next_hop_v4 = $NET.1
curve
    enable = true
hostgroup
    default
        ban_time = 3
        threshold_pps = 5000
        threshold_mbps = 0
        threshold_flows = 0
CONF
    local h x
    for h in ha hb; do
        x=${ADDR[$h]}
        cat >"$tmp/gobgpd-$h.toml" <<TOML
[global.config]
  as = 65001
  router-id = "$NET.$x"
  local-address-list = ["$NET.$x"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$C"
    peer-as = 65002
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 3
    keepalive-interval = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
TOML
        printf '#!/bin/sh\ncat >/dev/null\necho "$(date +%%s%%N) $1 $4" >> %s\n' \
            "$tmp/notify-$h.log" >"$tmp/notify-$h.sh"
        chmod 755 "$tmp/notify-$h.sh"
        : >"$tmp/notify-$h.log"
    done
    cat >"$tmp/bird.conf" <<BIRD
router id $C;
protocol device {}
protocol bgp ga {
  local $C as 65002; neighbor $A as 65001;
  hold time 3; keepalive time 1; connect retry time 1;
  ipv4 { import all; export none; };
}
protocol bgp gb {
  local $C as 65002; neighbor $HB as 65001;
  hold time 3; keepalive time 1; connect retry time 1;
  ipv4 { import all; export none; };
}
BIRD
    conf=$tmp/floodgate.conf
    start hc redis redis-server --bind "$C" --port 6379 --protected-mode no --save "" \
        --appendonly no --dir "$tmp"
    wait_for 5 rcli ping >/dev/null 2>&1 || die "redis-server did not answer"
    start hc bird bird -f -c "$tmp/bird.conf" -s "$tmp/bird.ctl" -P "$tmp/bird.pid"
    start hc shard "$B/floodgate-aggregator" -c "$conf" --shard 0
    start hc collector env FLOODGATE_COLLECTOR_CERT="$keys/collector.key_secret" \
        "$B/floodgate-collector" -c "$conf"
    start hc detector "$B/floodgate-detector" -c "$conf"
    start_host ha
    wait_for 5 lease_is "host-a" || die "A did not take the lease: [$(lease)]"
    start_host hb
    wait_for 5 grep -qs event=standby "$tmp/actuator-hb.log" || die "B is not standby"
    wait_for 20 session_up ga && wait_for 20 session_up gb || die "BGP sessions not up in 20 s"
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || die "a daemon exited at start-up"; done
}

# start_host ha|hb: the host's gobgpd and actuator; their PIDs in host_pids
declare -A host_pids
start_host() {
    local h=$1 g
    start "$h" "gobgpd-$h" gobgpd -f "$tmp/gobgpd-$h.toml" -p --api-hosts=127.0.0.1:50051 \
        --pprof-disable
    g=$started
    start "$h" "actuator-$h" env FLOODGATE_ACTUATOR_ID="host-${h#h}" \
        FLOODGATE_ACTUATOR_CERT="$tmp/keys/actuator-${h#h}.key_secret" \
        FLOODGATE_ACTUATOR_NOTIFY_SCRIPT="$tmp/notify-$h.sh" "$B/floodgate-actuator" -c "$conf"
    host_pids[$h]="$g $started"
}

# the history of IP, oldest first: "ban renew unban"
history_of() {
    rcli --raw lrange "floodgate:history:$1" 0 -1 | sed -n 's/.*"event":"\([a-z_]*\)".*/\1/p' | tac | xargs
}
events_of() {
    rcli --raw xrange floodgate:events - + | awk -v ip="$1" '
        prev == "event" { ev = $0 } prev == "ip" { eip = $0 }
        { prev = $0 }
        /^[0-9]+-[0-9]+$/ { if (ev != "" && eip == ip) print ev; ev = ""; eip = "" }
        END { if (ev != "" && eip == ip) print ev }' | xargs
}
script_of() { cat "$tmp"/notify-h?.log | sort -n | awk -v ip="$1" '$2 == ip { print $3 }' | xargs; }

# expect_once IP: history = events, "ban (renew*) unban", at least one ban,
# the notify scripts ran once per ban and unban
expect_once() {
    local h e s b
    h=$(history_of "$1") e=$(events_of "$1") s=$(script_of "$1")
    b=$(echo "$h" | tr ' ' '\n' | grep -v '^renew$' | xargs)
    echo "multihost_ha: $mode: $1: history [$h], notify scripts [$s]"
    [ "$h" = "$e" ] || die "$1: history [$h] != events stream [$e]"
    [[ "$b" =~ ^(ban\ unban)( ban\ unban)*$ ]] || die "$1: bans and unbans [$h] do not alternate"
    [ "$s" = "$b" ] || die "$1: notify script runs [$s] != recorded [$b]"
}

run_case() {
    mode=$1
    setup
    pass "A active, B standby, both BGP sessions up"
    flood 10.0.0.5 3
    flood 10.0.0.6 14
    wait_for 10 banned 10.0.0.5 && wait_for 10 banned 10.0.0.6 || die "the attacks were not banned"
    wait_for 5 bird_is_redis || die "BIRD [$(bird_set)] != Redis [$(redis_set)] before the failure"
    # 10.0.0.5's flood has ended: strike when its ban has < 0.6 s left
    local end=$((SECONDS + 10)) ttl
    while :; do
        ttl=$(rcli pttl floodgate:ban:10.0.0.5)
        [ "$ttl" -ge 0 ] && [ "$ttl" -lt 600 ] && break
        [ $SECONDS -ge $end ] && die "10.0.0.5's ban did not come to its end (pttl $ttl)"
        sleep 0.05
    done
    local t0 p a_lines
    a_lines=$(wc -l <"$tmp/notify-ha.log")
    t0=$(now_ms)
    if [ "$mode" = kill ]; then
        for p in ${host_pids[ha]}; do kill -KILL "$p"; done
    else
        ip -n "$(ns br)" link set vha down
    fi
    flood 10.0.0.7 4
    # the takeover, and how long 10.0.0.6's route is missing from BIRD
    local t_lease="" gone="" back="" t
    end=$((SECONDS + 10))
    while [ -z "$t_lease" ] || [ -z "$back" ]; do
        t=$(now_ms)
        [ -z "$t_lease" ] && lease_is host-b && t_lease=$((t - t0))
        if in_bird 10.0.0.6; then
            [ -z "$back" ] && { [ -n "$gone" ] || [ -n "$t_lease" ]; } && back=$((t - t0))
        else
            [ -z "$gone" ] && gone=$((t - t0))
        fi
        [ $SECONDS -ge $end ] && die "no takeover within 10 s (lease [$(lease)], 10.0.0.6 in BIRD: gone ${gone:-never}, back ${back:-never})"
        sleep 0.02
    done
    [ "$t_lease" -le 2000 ] || die "B took the lease $t_lease ms after the failure (> 2000)"
    local missing=0
    [ -n "$gone" ] && missing=$((back - gone))
    pass "B holds the lease $t_lease ms after the failure; 10.0.0.6/32 missing from BIRD for $missing ms (gone at ${gone:-never}, announced by B at $back ms)"
    echo "multihost_ha: figure: $mode takeover_ms=$t_lease route_missing_ms=$missing"
    wait_for 10 banned 10.0.0.7 || die "10.0.0.7 (attack started at the failure) not banned by B"
    wait_for 10 bird_is_redis || die "BIRD [$(bird_set)] != Redis [$(redis_set)] after the takeover"
    pass "after the takeover BIRD equals Redis: [$(bird_set)]; 10.0.0.7 banned by B"
    if [ "$mode" = partition ]; then
        sleep 3
        # A's link comes back: how long BIRD differs from Redis (A's speaker
        # may re-announce what it had until A learns it lost the lease)
        local tu differ=0 first="" last=""
        ip -n "$(ns br)" link set vha up
        tu=$(now_ms)
        end=$((SECONDS + 15))
        until grep -q event=step_down "$tmp/actuator-ha.log" && bird_is_redis; do
            t=$(($(now_ms) - tu))
            bird_is_redis || { differ=1; [ -z "$first" ] && first=$t; last=$t; }
            [ $SECONDS -ge $end ] && die "A did not step down, or BIRD [$(bird_set)] != Redis [$(redis_set)], 15 s after its link came back"
            sleep 0.05
        done
        lease_is host-b || die "the lease left B when A came back: [$(lease)]"
        pass "A's link back: A stepped down after $(($(now_ms) - tu)) ms, B still active, BIRD equals Redis: [$(bird_set)]"
        echo "multihost_ha: figure: partition_heal stale_routes_ms=$([ $differ = 1 ] && echo "$first-$last" || echo 0)"
    fi
    wait_for 25 no_bans || die "bans left after the attacks ended: [$(redis_set)]"
    wait_for 5 bird_is_redis || die "BIRD [$(bird_set)] not empty after every ban lapsed"
    sleep 1
    for ip in 10.0.0.5 10.0.0.6 10.0.0.7; do expect_once $ip; done
    [ "$(wc -l <"$tmp/notify-ha.log")" = "$a_lines" ] || die "A ran its notify script after the failure"
    grep -q event=active "$tmp/actuator-hb.log" || die "B never logged event=active"
    pass "every ban, renewal and unban recorded once (history = events), each notify script run once per ban and unban"
    mh_stop_all
}

run_case kill
run_case partition
echo "multihost_ha: all checks passed"
