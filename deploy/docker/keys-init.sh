#!/bin/sh
# floodgate-keys-init DIR: the CurveZMQ keys of a compose deployment, made at
# its first start in DIR (a volume), never baked into the image. Idempotent:
# a pair that exists is kept. One pair per role (the collector replicas share
# one, so do the shards), and the servers' allowed_keys directories:
#   DIR/aggregator.allowed/  collector.key detector.key cli.key
#   DIR/actuator.allowed/    detector.key
# Run under flock by floodgate-entrypoint, so containers starting together
# do not race.
set -eu
dir=${1:-/etc/floodgate/keys}
mkdir -p "$dir/aggregator.allowed" "$dir/actuator.allowed"
for name in collector aggregator detector actuator cli; do
    [ -e "$dir/$name.key_secret" ] || floodgate keygen "$name" "$dir" >/dev/null
done
for name in collector detector cli; do
    cmp -s "$dir/$name.key" "$dir/aggregator.allowed/$name.key" ||
        cp "$dir/$name.key" "$dir/aggregator.allowed/$name.key"
done
cmp -s "$dir/detector.key" "$dir/actuator.allowed/detector.key" ||
    cp "$dir/detector.key" "$dir/actuator.allowed/detector.key"
