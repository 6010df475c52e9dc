#!/bin/bash
# multihost.sh BUILD_DIR: floodgate across hosts, with network namespaces as
# the hosts. Needs root; prints SKIP and exits 0 without it.
#
#   router A (.11) ──NetFlow──▶ collector host A (.21) ─┐
#   router B (.12) ──NetFlow──▶ collector host B (.22) ─┼─ZeroMQ/TCP─▶ shards 0, 1 (.31)
#                                                        │                 │
#                     redis + actuator + detector (.41) ◀┴─────────────────┘
#
# Each host is a namespace with one veth into a bridge that lives in a
# namespace of its own (nothing is added to the host's namespace); addresses
# 198.51.100.0/24; every process reads one floodgate.conf, and what differs
# per host comes from FLOODGATE_<SECTION>_<KEY>. floodgate-flowgen runs inside
# each router namespace (--allow-nonlocal).
#
#  1. an attack seen only through A (10.0.0.5) and one seen only through B
#     (10.0.2.9) are both banned; the shards received exactly the records
#     both routers sent, both shards got some, no batch was lost;
#  2. collector host A dies (its collector killed, its namespace deleted):
#     a new attack through B (10.0.2.10) is banned, the one through A
#     (10.0.0.6) is not; the shards and collector B count exactly B's
#     records, so exactly A's records are lost; the earlier bans stay.
#
# Every ZeroMQ link runs with CurveZMQ: each host has its own key pair
# (floodgate keygen), the shards allow the two collectors and the detector,
# the actuator the detector. An outsider's namespace (.66) on the same
# bridge tries, while the floods of 1. go on, to push forged Decisions (for
# monitored addresses and a ban time within policy, so only Curve stops
# them; and for 8.8.8.8 for 4e9 s) to
# the actuator and forged FlowBatches to shard 0 (with a key of its own that
# knows the servers' public keys, and without Curve), to read shard 0's
# windows, and to hold plain TCP connections open: nothing of it reaches
# Redis, the windows stay unread, every refused handshake is counted, the
# idle connections are closed after the handshake deadline, and the real
# floods are banned meanwhile.
# Everything it made is removed on exit, failed or not (FG_KEEP=1 keeps the
# logs).
set -u
B=$(cd "${1:-build}" && pwd)
if [ "$(id -u)" != 0 ]; then
    echo "multihost: SKIP: needs root to create network namespaces (run make test as root)"
    exit 0
fi
for t in ip redis-server redis-cli "$B/tests/floodgate-forge"; do
    command -v "$t" >/dev/null || { echo "multihost: FAIL: $t not found" >&2; exit 1; }
done

. "$(dirname "$0")/mh_lib.sh"

tag=$$
NET=198.51.100
declare -A ADDR=([ra]=11 [rb]=12 [ca]=21 [cb]=22 [ag]=31 [ct]=41 [ev]=66)
ns() { echo "fg$1$tag"; }
tmp=$(mktemp -d /tmp/fg-multihost.XXXXXX)
mh_trap multihost "$tmp"

die() { failed=1; echo "multihost: FAIL: $*" >&2; exit 1; }
pass() { echo "multihost: ok: $*"; }

# ---- the hosts ----
mh_hosts ra rb ca cb ag ct ev

# ---- keys: one pair per host (each would hold only its own secret) ----
keys=$tmp/keys
for k in collector-a collector-b aggregator detector actuator; do
    "$B/floodgate" keygen "$k" "$keys" >/dev/null || die "floodgate keygen $k"
done
mkdir -p "$keys/aggregator.allowed" "$keys/actuator.allowed"
cp "$keys/collector-a.key" "$keys/collector-b.key" "$keys/detector.key" "$keys/aggregator.allowed/"
cp "$keys/detector.key" "$keys/actuator.allowed/"

# ---- one configuration; per-host values from the environment ----
conf=$tmp/floodgate.conf
cat > "$conf" <<CONF
general
    log_level = info
networks
    monitored = "10.0.0.0/16"
collector
    netflow_listen = "0.0.0.0:2055"
    batch_ms = 10
aggregator
    shards = 2
    tick_ms = 200
    pull_bind = tcp://*:5550
    pub_bind = tcp://*:5560
    cert = $keys/aggregator.key_secret
    public_key = $keys/aggregator.key
    allowed_keys = $keys/aggregator.allowed
detector
    ongoing_interval = 1
    attack_end = 10
    cert = $keys/detector.key_secret
actuator
    check_interval = 1
    bind = tcp://*:5570
    cert = $keys/actuator.key_secret
    public_key = $keys/actuator.key
    allowed_keys = $keys/actuator.allowed
curve
    enable = true
hostgroup
    default
        ban_time = 600
        threshold_pps = 5000
        threshold_mbps = 0
        threshold_flows = 0
CONF
AG=$NET.${ADDR[ag]} CT=$NET.${ADDR[ct]}
common_env=(FLOODGATE_REDIS_ADDRESS="$CT:6379"
            FLOODGATE_AGGREGATOR_PULL_CONNECT="tcp://$AG:5550 tcp://$AG:5551"
            FLOODGATE_AGGREGATOR_PUB_CONNECT="tcp://$AG:5560 tcp://$AG:5561"
            FLOODGATE_ACTUATOR_CONNECT="tcp://$CT:5570")

# start HOST LOG CMD...: run CMD inside HOST's namespace; its PID in $started
start() {
    local h=$1 log=$2
    shift 2
    ip netns exec "$(ns "$h")" env "${common_env[@]}" "$@" >"$tmp/$log.log" 2>&1 &
    started=$!
    pids+=("$started")
}
rcli() { ip netns exec "$(ns ct)" redis-cli -h "$CT" "$@"; }
# scrape HOST PORT: the /metrics text of a daemon of HOST
scrape() {
    ip netns exec "$(ns "$1")" bash -c "exec 3<>/dev/tcp/127.0.0.1/$2 &&
        printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3" 2>/dev/null
}
# metric HOST PORT NAME: sum of the samples of NAME (all its labels), or the
# one sample NAME{labels} when labels are given
metric() {
    scrape "$1" "$2" | awk -v m="$3" '$1 == m || (m !~ /{/ && index($1, m "{") == 1) { s += $NF }
                                      END { printf "%d\n", s }'
}
# msum HOST PORT NAME FILTER: sum of the samples of NAME whose labels hold FILTER
msum() {
    scrape "$1" "$2" | awk -v m="$3" -v f="$4" 'index($1, m "{") == 1 && index($1, f) { s += $NF }
                                                END { printf "%d\n", s }'
}
shards_records() {
    echo $(($(metric ag 9560 floodgate_aggregator_records_total) +
            $(metric ag 9561 floodgate_aggregator_records_total)))
}
banned() { [ "$(rcli exists "floodgate:ban:$1")" = 1 ]; }
# flow ROUTER COLLECTOR LOG ATTACKED: a 6 s flood plus 40 light hosts
flow() {
    start "$1" "$3" "$B/floodgate-flowgen" --allow-nonlocal -d "$NET.${ADDR[$2]}:2055" \
        --dst "$4" --pps 20000 --background 40 --background-pps 20 --duration 6
}
sent_records() { sed -n 's/.*flowgen: .* records=\([0-9]*\) .*/\1/p' "$tmp/$1.log"; }

# ---- the processes ----
start ct redis redis-server --bind "$CT" --port 6379 --protected-mode no --save "" \
    --appendonly no --dir "$tmp"
wait_for 5 rcli ping >/dev/null 2>&1 || die "redis-server did not answer"
start ct actuator "$B/floodgate-actuator" -c "$conf"
start ct detector "$B/floodgate-detector" -c "$conf"
start ag shard0 "$B/floodgate-aggregator" -c "$conf" --shard 0
start ag shard1 "$B/floodgate-aggregator" -c "$conf" --shard 1
start ca collector-a env FLOODGATE_COLLECTOR_ID=1 FLOODGATE_COLLECTOR_CERT="$keys/collector-a.key_secret" \
    "$B/floodgate-collector" -c "$conf"
col_a=$started
start cb collector-b env FLOODGATE_COLLECTOR_ID=2 FLOODGATE_COLLECTOR_CERT="$keys/collector-b.key_secret" \
    "$B/floodgate-collector" -c "$conf"
# ready when the detector has had a window from both shards (across hosts)
shards_heard() { [ "$(metric ct 9552 floodgate_detector_shards_seen)" = 2 ]; }
wait_for 10 shards_heard || die "the detector did not hear from both shards within 10 s (logs in $tmp)"
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || die "a daemon exited at start-up (logs in $tmp)"; done

# ---- 1. one attack through each collector host ----
flow ra ca flow-a1 10.0.0.5; fa=$started
flow rb cb flow-b1 10.0.2.9; fb=$started
# the outsider, meanwhile: forged messages with a key of its own (it knows
# the servers' public keys) and without Curve, and a reader of the windows
forge() { local log=$1; shift; start ev "$log" "$B/tests/floodgate-forge" "$@"; fpids+=("$started"); }
fpids=()
# (a ban time the actuator's own checks would accept: only Curve stops these)
forge ev-dec-curve decision "tcp://$CT:5570" 10.0.0.77 --ban-time 600 --curve "$keys/actuator.key"
forge ev-dec-plain decision "tcp://$CT:5570" 10.0.0.78 --ban-time 600
forge ev-dec-far decision "tcp://$CT:5570" 8.8.8.8
forge ev-fb-curve flowbatch "tcp://$AG:5550" 10.0.0.99 --shards 2 --curve "$keys/aggregator.key"
forge ev-fb-plain flowbatch "tcp://$AG:5550" 10.0.0.98 --shards 2
forge ev-sub-curve sub "tcp://$AG:5560" --curve "$keys/aggregator.key"
forge ev-sub-plain sub "tcp://$AG:5560"
# and a plain TCP connection that never handshakes: how long is it kept?
idle_ms=$(ip netns exec "$(ns ev)" bash -c "t0=\$(date +%s%N); exec 3<>/dev/tcp/$CT/5570 || exit 1
    timeout 10 cat <&3 >/dev/null; echo \$(( (\$(date +%s%N) - t0) / 1000000 ))")
wait_for 20 banned 10.0.0.5 || die "10.0.0.5 (seen only through collector host A) not banned"
wait_for 20 banned 10.0.2.9 || die "10.0.2.9 (seen only through collector host B) not banned"
pass "both attacks banned: 10.0.0.5 through host A, 10.0.2.9 through host B"
wait "$fa" "$fb"
wait "${fpids[@]}"
sleep 1
for l in ev-dec-curve ev-dec-plain ev-dec-far ev-fb-curve ev-fb-plain; do
    grep -q "sent=[1-9]" "$tmp/$l.log" || die "the outsider's $l did not run: $(cat "$tmp/$l.log")"
done
for l in ev-sub-curve ev-sub-plain; do
    grep -q "received=0$" "$tmp/$l.log" || die "the outsider read shard 0's windows ($l): $(cat "$tmp/$l.log")"
done
bans=$(rcli --scan --pattern 'floodgate:ban:*' | sort | tr '\n' ' ')
[ "$bans" = "floodgate:ban:10.0.0.5 floodgate:ban:10.0.2.9 " ] ||
    die "Redis holds other bans than the two real ones: $bans"
act_auth=$(msum ct 9553 floodgate_zmq_handshakes_refused_total 'reason="auth"')
act_other=$(( $(msum ct 9553 floodgate_zmq_handshakes_refused_total 'reason="protocol"') +
              $(msum ct 9553 floodgate_zmq_handshakes_refused_total 'reason="no_detail"') ))
pull_auth=$(msum ag 9560 floodgate_zmq_handshakes_refused_total 'socket="pull",endpoint="tcp://*:5550",reason="auth"')
# a client without Curve shows as "protocol" (mechanism mismatch) or, when it
# hangs up first, "no_detail"
pull_other=$(( $(msum ag 9560 floodgate_zmq_handshakes_refused_total 'socket="pull",endpoint="tcp://*:5550",reason="protocol"') +
               $(msum ag 9560 floodgate_zmq_handshakes_refused_total 'socket="pull",endpoint="tcp://*:5550",reason="no_detail"') ))
pub_auth=$(msum ag 9560 floodgate_zmq_handshakes_refused_total 'socket="pub",endpoint="tcp://*:5560",reason="auth"')
pub_other=$(( $(msum ag 9560 floodgate_zmq_handshakes_refused_total 'socket="pub",endpoint="tcp://*:5560",reason="protocol"') +
              $(msum ag 9560 floodgate_zmq_handshakes_refused_total 'socket="pub",endpoint="tcp://*:5560",reason="no_detail"') ))
for v in act_auth act_other pull_auth pull_other pub_auth pub_other; do
    [ "${!v}" -ge 1 ] || die "refused handshakes not counted: $v=${!v}"
done
[ -n "$idle_ms" ] && [ "$idle_ms" -lt 4000 ] ||
    die "a plain TCP connection to the actuator stayed open ${idle_ms:-?} ms (handshake deadline 2 s)"
[ "$(metric ct 9553 floodgate_curve)" = 1 ] && [ "$(metric ct 9553 floodgate_insecure)" = 0 ] ||
    die "floodgate_curve / floodgate_insecure wrong on the actuator"
pass "outsider refused: forged Decisions (10.0.0.77, 10.0.0.78 for 600 s; 8.8.8.8 for 4e9 s) and FlowBatches (10.0.0.99, 10.0.0.98) banned nothing, its SUBs read 0 windows; refused handshakes counted (actuator auth $act_auth / other $act_other, shard 0 pull $pull_auth / $pull_other, pub $pub_auth / $pub_other); an idle TCP connection was closed after $idle_ms ms"
a1=$(sent_records flow-a1) b1=$(sent_records flow-b1)
[ -n "$a1" ] && [ -n "$b1" ] || die "flowgen did not report its records"
want=$((a1 + b1))
all_in() { [ "$(shards_records)" = "$want" ]; }
wait_for 10 all_in || die "shards received $(shards_records) records, routers sent $want ($a1 + $b1)"
s0=$(metric ag 9560 floodgate_aggregator_records_total)
s1=$(metric ag 9561 floodgate_aggregator_records_total)
[ "$s0" -gt 0 ] && [ "$s1" -gt 0 ] || die "a shard got nothing (shard 0: $s0, shard 1: $s1)"
lost=$(($(metric ag 9560 floodgate_aggregator_batches_lost_total) +
        $(metric ag 9561 floodgate_aggregator_batches_lost_total)))
[ "$lost" = 0 ] || die "$lost batches lost between the collectors and the shards"
pass "shards received all $want records ($a1 via A + $b1 via B; shard 0: $s0, shard 1: $s1), 0 batches lost"

# ---- 2. collector host A dies ----
kill -KILL "$col_a"
wait "$col_a" 2>/dev/null
ip netns del "$(ns ca)"
before=$(shards_records)
cb_rec='floodgate_collector_records_total{result="sent"}'
cb_before=$(metric cb 9551 "$cb_rec")
flow ra ca flow-a2 10.0.0.6; fa=$started
flow rb cb flow-b2 10.0.2.10; fb=$started
wait_for 20 banned 10.0.2.10 || die "10.0.2.10 (through host B, A down) not banned"
wait "$fa" "$fb"
a2=$(sent_records flow-a2) b2=$(sent_records flow-b2)
want=$((before + b2))
wait_for 10 all_in || die "after A died: shards got $(( $(shards_records) - before )) records, B sent $b2"
# collector B sent exactly what router B did, so no record is still on its way
cb_all_sent() { [ $(($(metric cb 9551 "$cb_rec") - cb_before)) = "$b2" ]; }
wait_for 5 cb_all_sent ||
    die "collector B counted $(($(metric cb 9551 "$cb_rec") - cb_before)) records, router B sent $b2"
[ "$(shards_records)" = "$want" ] || die "after A died: shards count $(shards_records), expected $want"
banned 10.0.0.6 && die "10.0.0.6 banned although its only collector host was down"
banned 10.0.0.5 && banned 10.0.2.9 || die "a ban from before the failure is gone"
pass "host A down: 10.0.2.10 (via B) banned, 10.0.0.6 (via A) not; all $b2 records of B counted by collector B and the shards, the $a2 records router A sent are lost; earlier bans kept"
echo "multihost: all checks passed"
