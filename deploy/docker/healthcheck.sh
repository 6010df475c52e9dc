#!/bin/bash
# floodgate-healthcheck [SERVICE]: exit 0 when the service of this container
# is healthy. SERVICE (collector, aggregator, detector, actuator, redis,
# gobgpd) defaults to what PID 1 runs.
#
# A floodgate daemon is asked GET /healthz on its metrics_listen port (from
# FLOODGATE_<SECTION>_METRICS_LISTEN or the default; a shard adds its index):
# it answers 200 "ok" when its loop runs and it does its job. With metrics
# off (metrics_listen = ""), the container's own sockets are checked instead
# (a container has a network namespace of its own, so they are the
# service's): a bound UDP socket for a collector, listening TCP sockets for
# a shard or the actuator, an established connection for the detector.
set -u
cmd=$(tr '\0' ' ' < /proc/1/cmdline)
svc=${1:-$(awk '{print $1}' <<<"$cmd")}
svc=${svc##*/}
svc=${svc#floodgate-}
svc=${svc%-server}

healthz() { # default-port
    local var="FLOODGATE_${svc^^}_METRICS_LISTEN" listen port shard
    listen=${!var-127.0.0.1:$1}
    [ -n "$listen" ] || return 2              # metrics off
    port=${listen##*:}
    if [ "$svc" = aggregator ]; then
        shard=$(sed -n 's/.*--shard[ =]\([0-9]*\).*/\1/p' <<<"$cmd")
        port=$((port + ${shard:-0}))
    fi
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3
    local status
    read -r -t 5 _ status _ <&3
    exec 3<&-
    [ "$status" = 200 ]
}
sockets() { # proto state: sockets of /proc/net/{proto,proto6} in that state
    cat /proc/net/"$1" /proc/net/"$1"6 2>/dev/null | awk -v st="$2" 'NR > 1 && $4 == st' | wc -l
}
check() { # default-port fallback...
    local port=$1 rc
    shift
    healthz "$port"
    rc=$?
    [ $rc = 2 ] || return $rc
    "$@"
}
conf=${FLOODGATE_CONFIG:-/etc/floodgate/floodgate.conf}
case "$svc" in
collector)  check 9551 test "$(sockets udp 07)" -ge 1 ;;
aggregator) check 9560 test "$(sockets tcp 0A)" -ge 2 ;;
detector)   check 9552 test "$(sockets tcp 01)" -ge 1 ;;
actuator)   check 9553 floodgate -c "$conf" bans >/dev/null ;;
redis)      [ "$(redis-cli ping 2>/dev/null)" = PONG ] ;;
gobgpd)     gobgp global >/dev/null 2>&1 ;;
*) echo "floodgate-healthcheck: unknown service '$svc'" >&2; exit 1 ;;
esac
