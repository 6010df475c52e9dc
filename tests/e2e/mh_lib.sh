# mh_lib.sh: what multihost.sh and multihost_ha.sh share; sourced, not run.
# Network namespaces as hosts on one bridge, stopping what a script started
# by PID (never by name), and bounded waits.
#
# The sourcing script defines: ns NAME (a namespace name unique to the run),
# NET (the first three octets of the hosts' /24), ADDR (host -> last octet),
# die MESSAGE, and the arrays pids (what it started) and made (namespaces).

# mh_hosts HOST...: the bridge namespace $(ns br) with br0 up, and per HOST
# a namespace whose eth0 (a veth into br0) has $NET.${ADDR[HOST]}/24, lo
# up. Nothing is added to the machine's own namespace.
mh_hosts() {
    local br n h
    br=$(ns br)
    ip netns add "$br" || die "ip netns add failed (root without CAP_SYS_ADMIN?)"
    made+=("$br")
    ip -n "$br" link add br0 type bridge && ip -n "$br" link set br0 up || die "bridge"
    for h in "$@"; do
        n=$(ns "$h")
        ip netns add "$n" || die "ip netns add $n"
        made+=("$n")
        ip -n "$br" link add "v$h" type veth peer name eth0 netns "$n" || die "veth for $h"
        ip -n "$br" link set "v$h" master br0 up
        ip -n "$n" addr add "$NET.${ADDR[$h]}/24" dev eth0
        ip -n "$n" link set eth0 up
        ip -n "$n" link set lo up
    done
}

# mh_stop_all: SIGTERM to every PID in pids, 3 s at most for them to exit,
# then SIGKILL; the namespaces in made deleted; both lists emptied.
mh_stop_all() {
    local p n alive
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for _ in $(seq 30); do
        alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    for n in "${made[@]}"; do ip netns del "$n" 2>/dev/null; done
    pids=()
    made=()
}

# wait_for SECONDS COMMAND...: COMMAND every 0.2 s until it succeeds (0) or
# SECONDS have passed (1).
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.2
    done
}

# mh_trap NAME DIR: the lists emptied and failed=0; on exit, failed or not,
# mh_stop_all, then DIR removed, or kept and named when FG_KEEP is set or
# the script failed (INT and TERM count as failures). NAME starts the
# message.
mh_trap() {
    MH_NAME=$1
    MH_DIR=$2
    pids=()
    made=()
    failed=0
    trap mh_cleanup EXIT
    trap 'failed=1; exit 1' INT TERM
}

mh_cleanup() {
    trap - EXIT INT TERM
    mh_stop_all
    if [ "${FG_KEEP:-}" ] || [ "$failed" != 0 ]; then
        echo "$MH_NAME: logs kept in $MH_DIR" >&2
    else
        rm -rf "$MH_DIR"
    fi
}
