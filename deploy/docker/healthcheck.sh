#!/bin/sh
# floodgate-healthcheck [SERVICE]: exit 0 when the service of this container
# is healthy. SERVICE (collector, aggregator, detector, actuator, redis,
# gobgpd) defaults to what PID 1 runs. A container has one network namespace
# of its own, so the sockets listed in /proc/net are the service's:
#   collector   a UDP socket bound (the flow listener);
#   aggregator  TCP sockets listening (its PULL and PUB);
#   detector    a TCP connection established (to a shard or the actuator);
#   actuator    a TCP socket listening (its PULL) and Redis answering;
#   redis       PING answered;  gobgpd  its API answering.
set -u
svc=${1:-$(tr '\0' ' ' < /proc/1/cmdline | awk '{print $1}')}
svc=${svc##*/}
svc=${svc#floodgate-}
svc=${svc%-server}

# Lines of /proc/net/{tcp,tcp6,udp,udp6} whose state (4th field) is st.
sockets() { # proto state
    cat /proc/net/"$1" /proc/net/"$1"6 2>/dev/null | awk -v st="$2" 'NR > 1 && $4 == st' | wc -l
}
conf=${FLOODGATE_CONFIG:-/etc/floodgate/floodgate.conf}
case "$svc" in
collector)  [ "$(sockets udp 07)" -ge 1 ] ;;
aggregator) [ "$(sockets tcp 0A)" -ge 2 ] ;;
detector)   [ "$(sockets tcp 01)" -ge 1 ] ;;
actuator)   [ "$(sockets tcp 0A)" -ge 1 ] && floodgate -c "$conf" bans >/dev/null ;;
redis)      [ "$(redis-cli ping 2>/dev/null)" = PONG ] ;;
gobgpd)     gobgp global >/dev/null 2>&1 ;;
*) echo "floodgate-healthcheck: unknown service '$svc'" >&2; exit 1 ;;
esac
