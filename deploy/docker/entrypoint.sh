#!/bin/sh
# floodgate-entrypoint: run the command given (a floodgate daemon, redis-server,
# gobgpd, ...) as PID 1, after two conveniences for compose:
#  - FLOODGATE_COLLECTOR_ID=auto becomes a number derived from the container's
#    host name (unique per container), so `--scale collector=N` gives every
#    collector its own id without editing anything;
#  - a daemon's configuration is checked first, so a bad one shows as
#    FILE:LINE: reason and exit code 2 right away;
#  - FLOODGATE_KEYS_INIT=DIR: the deployment's CurveZMQ keys are made in DIR
#    (a volume) when missing, under a lock (floodgate-keys-init), so they
#    are generated at the first start and never baked into the image.
set -eu
if [ "${FLOODGATE_COLLECTOR_ID:-}" = auto ]; then
    FLOODGATE_COLLECTOR_ID=$(hostname | cksum | cut -d ' ' -f 1)
    export FLOODGATE_COLLECTOR_ID
    echo "floodgate-entrypoint: collector id $FLOODGATE_COLLECTOR_ID (from host name $(hostname))" >&2
fi
case "${1:-}" in
floodgate-collector|floodgate-aggregator|floodgate-detector|floodgate-actuator)
    if [ -n "${FLOODGATE_KEYS_INIT:-}" ]; then
        mkdir -p "$FLOODGATE_KEYS_INIT"
        flock "$FLOODGATE_KEYS_INIT/.lock" floodgate-keys-init "$FLOODGATE_KEYS_INIT"
    fi
    "$@" -t >/dev/null ;;
esac
exec "$@"
