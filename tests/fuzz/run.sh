#!/bin/sh
# Run each fuzz target for SECONDS, from a seed corpus (tests/fuzz/seeds.c:
# the exporter captures in tests/data/, or messages and texts it makes; and
# the inputs it once failed on, tests/data/fuzz/<target>_*),
# keeping what it finds in DIR/corpus.
# Usage: tests/fuzz/run.sh DIR SECONDS TARGET... Exits non-zero on the first
# crash (libFuzzer leaves the input in DIR/crash-*).
set -eu
dir=$1
secs=$2
shift 2
seeds() {
    case $1 in
        netflow_v5) echo tests/data/nf5_softflowd.bin ;;
        netflow_v9) echo tests/data/nf9_softflowd.pcap ;;
        ipfix) echo tests/data/ipfix_softflowd.pcap ;;
        sflow) echo tests/data/sflow_pmacct.pcap ;;
        collector) echo --collector tests/data/nf5_softflowd.bin tests/data/nf9_softflowd.pcap \
            tests/data/ipfix_softflowd.pcap tests/data/sflow_pmacct.pcap ;;
        config) echo --copy deploy/floodgate.conf ;;
        gobgp_rib) echo --copy tests/data/gobgp_rib_ipv4.json tests/data/gobgp_rib_ipv6.json ;;
        *) echo "--gen $1" ;;
    esac
}
for t in "$@"; do
    mkdir -p "$dir/seed/$t" "$dir/corpus/$t"
    # shellcheck disable=SC2046
    "$dir/seeds" "$dir/seed/$t" $(seeds "$t")
    # what the target found once (tests/data/fuzz/<target>_*) runs first
    for f in tests/data/fuzz/"$t"_*; do
        if [ -e "$f" ]; then cp "$f" "$dir/seed/$t/"; fi
    done
    echo "== fuzz_$t: $secs s"
    "$dir/fuzz_$t" -max_total_time="$secs" -max_len=9216 -timeout=10 -rss_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="$dir/" \
        "$dir/corpus/$t" "$dir/seed/$t" 2>"$dir/fuzz_$t.log" ||
        { tail -40 "$dir/fuzz_$t.log"; exit 1; }
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$dir/fuzz_$t.log" | tr '\n' ' '
    echo
done
