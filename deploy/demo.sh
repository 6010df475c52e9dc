#!/bin/bash
# make demo: send a synthetic NetFlow v5 flood (60 000 pps of UDP from port
# 53, i.e. DNS amplification) against 10.0.0.5 to the collector of a running
# `make run`, plus light background traffic, and show the ban appear in Redis.
set -eu
B=${1:-build}
RUN=${RUN_DIR:-run}
port=$(cat "$RUN/redis.port" 2>/dev/null || echo "${REDIS_PORT:-6399}")
target=${TARGET:-10.0.0.5}
cli() { redis-cli -p "$port" "$@"; }
cli ping >/dev/null || { echo "demo: no Redis on port $port; start 'make run' first" >&2; exit 1; }

echo "demo: flooding $target for 10 s through 127.0.0.1:2055 ..."
"$B/floodgate-flowgen" -d 127.0.0.1:2055 --dst "$target" --pps 60000 --proto udp \
    --sport 53 --sources 200 --duration 10 --background 20 &
gen=$!
t0=$(date +%s%N)
for _ in $(seq 100); do
    if [ "$(cli exists "floodgate:ban:$target")" = 1 ]; then
        echo "demo: banned after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
        echo "\$ redis-cli -p $port --scan --pattern 'floodgate:ban:*'"
        cli --scan --pattern 'floodgate:ban:*'
        echo "\$ redis-cli -p $port TTL floodgate:ban:$target"
        cli ttl "floodgate:ban:$target"
        echo "\$ redis-cli -p $port HGETALL floodgate:ban:$target"
        cli hgetall "floodgate:ban:$target"
        echo "demo: unban by hand with: redis-cli -p $port DEL floodgate:ban:$target"
        wait "$gen" || true
        exit 0
    fi
    sleep 0.1
done
wait "$gen" || true
echo "demo: no ban after 10 s; look at the 'make run' terminal" >&2
exit 1
