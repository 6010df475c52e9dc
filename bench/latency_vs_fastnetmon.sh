#!/bin/sh
# Detection latency through the whole pipeline, floodgate against FastNetMon,
# on the same NetFlow v5 flood from floodgate-flowgen (100 000 pps, 5x the
# 20 000 pps threshold, 1 000 records/s) on loopback.
#
#   bench/latency_vs_fastnetmon.sh BUILD_DIR [TRIALS]
#
# The latency is from flowgen's start to the notify script's call
# (`script <ip> ...` with the attack on stdin): for floodgate collector ->
# aggregator (tick 100 ms) -> detector -> actuator (Redis ban) -> script; for
# FastNetMon 1.2.4 its NetFlow collector -> its detection -> its script.
# Each trial floods a fresh host for 6 s; trials are 8 s apart. Every
# process started here is stopped by its PID.
set -eu
B=${1:?usage: $0 BUILD_DIR [TRIALS]}
B=$(cd "$B" && pwd)
N=${2:-10}
D=$(mktemp -d /tmp/fg-vsfnm-XXXXXX)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$D"
}
trap cleanup EXIT INT TERM

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cat > "$D/notify.sh" <<EOF
#!/bin/sh
cat > /dev/null
echo "\$1 \$(date +%s.%N)" >> "$D/notify.log"
EOF
chmod 755 "$D/notify.sh"

# One run: $1 = tag, $2 = collector UDP port. Prints the latencies in ms.
trials() {
    : > "$D/notify.log"
    i=1
    while [ "$i" -le "$N" ]; do
        ip="10.0.9.$i"
        t0=$(date +%s.%N)
        "$B/floodgate-flowgen" -d "127.0.0.1:$2" --dst "$ip" --pps 100000 \
            --rate-records 1000 --duration 6 2>/dev/null
        t1=$(awk -v ip="$ip" '$1 == ip { print $2; exit }' "$D/notify.log")
        if [ -n "$t1" ]; then
            echo "$1 $ip $(echo "$t1 - $t0" | bc -l)" | awk '{ printf "%s %s %.0f\n", $1, $2, $3 * 1000 }'
        else
            echo "$1 $ip missed"
        fi
        sleep 2
        i=$((i + 1))
    done
}

# ---- floodgate ----
RP=$(port); NP=$(port); PP=$(port); SP=$(port); AP=$(port)
cat > "$D/fg.conf" <<EOF
networks
    monitored = "10.0.0.0/16"
redis
    address = 127.0.0.1:$RP
collector
    netflow_listen = 127.0.0.1:$NP
    batch_ms = 10
    metrics_listen = ""
aggregator
    pull_bind = tcp://127.0.0.1:$PP
    pub_bind = tcp://127.0.0.1:$SP
    pull_connect = tcp://127.0.0.1:$PP
    pub_connect = tcp://127.0.0.1:$SP
    tick_ms = 100
    metrics_listen = ""
detector
    metrics_listen = ""
actuator
    bind = tcp://127.0.0.1:$AP
    connect = tcp://127.0.0.1:$AP
    notify_script = $D/notify.sh
    metrics_listen = ""
hostgroup
    default
        threshold_pps = 20000
        threshold_mbps = 0
        threshold_flows = 0
EOF
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no --dir "$D" \
    > "$D/redis.log" 2>&1 &
pids="$pids $!"
sleep 0.5
for p in actuator detector; do
    "$B/floodgate-$p" -c "$D/fg.conf" > "$D/$p.log" 2>&1 &
    pids="$pids $!"
done
"$B/floodgate-aggregator" -c "$D/fg.conf" --shard 0 > "$D/aggregator.log" 2>&1 &
pids="$pids $!"
"$B/floodgate-collector" -c "$D/fg.conf" > "$D/collector.log" 2>&1 &
pids="$pids $!"
sleep 1
trials floodgate "$NP"
for p in $pids; do kill "$p" 2>/dev/null || true; done
sleep 1
pids=""

# ---- FastNetMon ----
FP=$(port)
echo "10.0.0.0/16" > "$D/networks"
: > "$D/whitelist"
cat > "$D/fnm.conf" <<EOF
logging_level = info
disable_usage_report = on
enable_ban = on
process_incoming_traffic = on
process_outgoing_traffic = off
ban_time = 1900
networks_list_path = $D/networks
white_list_path = $D/whitelist
check_period = 1
enable_connection_tracking = off
ban_for_pps = on
ban_for_bandwidth = off
ban_for_flows = off
threshold_pps = 20000
mirror_afpacket = off
netflow = on
sflow = off
pcap = off
netflow_port = $FP
netflow_host = 127.0.0.1
average_calculation_time = 5
speed_calculation_delay = 1
notify_script_path = $D/notify.sh
enable_api = off
prometheus = off
redis_enabled = off
mongodb_enabled = off
exabgp = off
gobgp = off
graphite = off
influxdb = off
clickhouse_metrics = off
EOF
fastnetmon --configuration_file "$D/fnm.conf" --log_file "$D/fnm.log" --disable_pid_logic \
    > "$D/fnm.out" 2>&1 &
pids="$pids $!"
sleep 3
trials fastnetmon "$FP"
