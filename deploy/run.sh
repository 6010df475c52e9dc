#!/bin/bash
# make run: a private redis-server (unless FLOODGATE_REDIS_ADDRESS names one)
# and every floodgate daemon on the example config, in the foreground.
# Ctrl-C stops them all. Usage: deploy/run.sh [BUILD_DIR]
#   CONF=path      config file (default deploy/floodgate.conf)
#   REDIS_PORT=n   port of the private redis-server (default 6399)
set -u
B=${1:-build}
CONF=${CONF:-deploy/floodgate.conf}
RUN=${RUN_DIR:-run}
mkdir -p "$RUN/redis"
pids=()

stop_all() {
    trap - INT TERM
    echo "run.sh: stopping ${#pids[@]} processes" >&2
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -f "$RUN/redis.port"
    exit "${1:-0}"
}
trap 'stop_all 0' INT TERM

"$B/floodgate-detector" -c "$CONF" -t >/dev/null || exit 2

if [ -z "${FLOODGATE_REDIS_ADDRESS:-}" ]; then
    port=${REDIS_PORT:-6399}
    redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/$RUN/redis" \
        --appendonly yes --save "60 1" --daemonize no \
        --logfile "$PWD/$RUN/redis/redis.log" &
    pids+=($!)
    for _ in $(seq 50); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -p "$port" ping >/dev/null 2>&1 || { echo "run.sh: redis-server did not start (see $RUN/redis/redis.log)" >&2; stop_all 1; }
    export FLOODGATE_REDIS_ADDRESS="127.0.0.1:$port"
    echo "$port" > "$RUN/redis.port"
    echo "run.sh: redis-server on 127.0.0.1:$port, data in $RUN/redis" >&2
fi

# aggregator/shards from the config (ZPL: "    shards = N" under "aggregator")
shards=$(awk '/^[^ #]/ {sec=$1} sec=="aggregator" && $1=="shards" {print $3}' "$CONF")
shards=${FLOODGATE_AGGREGATOR_SHARDS:-${shards:-1}}

"$B/floodgate-actuator" -c "$CONF" & pids+=($!)
"$B/floodgate-detector" -c "$CONF" & pids+=($!)
for ((i = 0; i < shards; i++)); do
    "$B/floodgate-aggregator" -c "$CONF" --shard "$i" & pids+=($!)
done
"$B/floodgate-collector" -c "$CONF" & pids+=($!)
echo "run.sh: floodgate running (${#pids[@]} processes); Ctrl-C stops everything." >&2
echo "run.sh: try 'make demo' in another terminal, then: redis-cli -p ${REDIS_PORT:-6399} --scan --pattern 'floodgate:ban:*'" >&2

# If any process dies, stop the rest: a half-running pipeline hides bans.
wait -n
echo "run.sh: a process exited; stopping the others" >&2
stop_all 1
