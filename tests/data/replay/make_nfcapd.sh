#!/bin/sh
# Make tests/data/replay/attack_ipfix.nfcapd (run once; the result is
# committed, see tests/test_replay.c): the IPFIX datagrams of
# attack_ipfix.pcap sent to an nfcapd (Debian's nfdump 1.7.1) listening on
# 127.0.0.1, which writes them as an LZ4-compressed nfcapd file when stopped.
# nfcapd keeps the records' own times (flowStart/EndMilliseconds), not the
# time they arrived, so the file replays like the pcap.
#
# Usage: tests/data/replay/make_nfcapd.sh [PORT]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
port=${1:-29955}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
nfcapd -b 127.0.0.1 -p "$port" -w "$dir" -t 3600 -y >"$dir/log" 2>&1 &
pid=$!
sleep 1
python3 "$here/send_datagrams.py" "$here/attack_ipfix.pcap" "$port"
sleep 1
kill "$pid"
wait "$pid" || true
cp "$dir"/nfcapd.2* "$here/attack_ipfix.nfcapd"
nfdump -r "$here/attack_ipfix.nfcapd" -q -o line | wc -l
