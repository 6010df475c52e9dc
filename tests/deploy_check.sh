#!/bin/bash
# deploy_check.sh BUILD_DIR: the deployment files agree with the code.
#
#  1. every key of the config schemas (common/config.c, <daemon>/*_config.c) is in floodgate.conf(5) (which is
#     generated from deploy/floodgate.conf), and the example file loads;
#  2. every option in each program's --help (and every CLI command) is in
#     its man page;
#  3. `make install` (PREFIX, DESTDIR) puts binaries, man pages, units,
#     sysusers and the example config in place, units with real paths;
#  4. systemd-analyze verify accepts the installed units;
#  5. docker-compose config accepts deploy/docker-compose.yml, and the
#     environment of each floodgate service passes the config loader (-t);
#  6. gobgpd accepts the example gobgpd.toml; the shell scripts parse;
#  7. every metric family the daemons' code exports (and the label values of
#     its tables) is in the README's metric table and its daemon's man page
#     (METRICS), and neither names one the code does not export
#     (tests/check_metrics_doc.py).
# Prints one line per failure and exits 1 if any.
set -u
B=${1:-build}
fails=0 checks=0
fail() { echo "deploy-check: FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); }
tmp=$(mktemp -d /tmp/fg-deploy-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ---- 1. config keys ----
conf_md=$(sed 's/\\//g' "$B/man/floodgate.conf.5.md")
# The schema tables: common/config.c (shared sections) and each daemon's
# <dir>/*_config.c; a key is `.name = "key"` or a table macro's first
# argument (INT(key, ...), INT_R(key, ...), GD("key", ...)); macro-generated threshold keys are
# documented as a family in the example.
keys=$(awk '
    /zpl_key_t s_[a-z]*_?keys\[\]/ {
        t = $0; sub(/.*zpl_key_t s_/, "", t); sub(/_?keys\[.*/, "", t)
        sec = (t == "") ? FILENAME : t; sub(/\/.*/, "", sec)
        if (sec == "group") sec = "hostgroup"
        intab = 1; next }
    intab && /^};/ { intab = 0 }
    intab && match($0, /\.name = "[a-z_0-9]+"/) { k = substr($0, RSTART + 9, RLENGTH - 10); print sec, k; next }
    intab && match($0, /^ +[A-Z]+(_R)?\("?[a-z_0-9]+"?,/) { k = substr($0, RSTART, RLENGTH - 1)
        sub(/^ +[A-Z]+(_R)?\("?/, "", k); sub(/"$/, "", k); print sec, k }
' $(grep -l 'zpl_key_t s_[a-z_]*keys\[\]' common/*.c collector/*.c aggregator/*.c detector/*.c actuator/*.c))
nkeys=$(echo "$keys" | grep -c .)
[ "$nkeys" -ge 30 ] || fail "found only $nkeys keys in the config schemas (common/config.c, */*_config.c): has the table format changed?"
while read -r sec key; do
    path="$sec/$key"
    [ "$sec" = hostgroup ] && path="hostgroup/NAME/$key"
    if grep -qF "**$path**" <<<"$conf_md"; then ok; else
        fail "config key $sec/$key (its schema table) is not in deploy/floodgate.conf, so not in floodgate.conf(5): document it there"
    fi
done <<<"$keys"
# and the other way: every key the page documents is in a schema (threshold
# keys are made by a table macro per traffic class: checked by the loader)
while read -r sec key; do
    if grep -qx "$sec $key" <<<"$keys" || [[ "$sec/$key" =~ ^hostgroup/(out_)?(network_)?threshold_ ]]; then
        ok; else fail "floodgate.conf(5) documents $sec/$key, which no schema table has: remove it or add the key"; fi
done < <(sed -nE 's/^\*\*([a-z_]+)\/(NAME\/)?([a-z_0-9]+)\*\* = .*/\1 \3/p' <<<"$conf_md")
if "$B/floodgate-detector" -c deploy/floodgate.conf -t >/dev/null; then ok; else
    fail "deploy/floodgate.conf does not load"; fi

# ---- 2. options and commands ----
check_opts() { # program manpage-source
    local help opts o
    help=$("$B/$1" --help 2>&1)
    opts=$(grep -oE '(^|[ ,])--?[a-z][a-z-]*' <<<"$help" | sed -E 's/^[ ,]//' | sort -u)
    [ -n "$opts" ] || { fail "$1 --help lists no option"; return; }
    for o in $opts; do
        if grep -qF -- "\`$o\`" "$2"; then ok; else fail "$1: option $o is not in $2"; fi
    done
}
for d in collector aggregator detector actuator flowgen; do
    check_opts "floodgate-$d" "docs/man/floodgate-$d.$([ $d = flowgen ] && echo 1 || echo 8).md"
done
check_opts floodgate docs/man/floodgate.1.md
cmds=$("$B/floodgate" --help 2>&1 | awk '/^  [a-z]+ / {print $1}')
[ -n "$cmds" ] || fail "floodgate --help lists no command"
for c in $cmds; do
    if grep -qE "^\*\*$c\*\*" docs/man/floodgate.1.md; then ok; else
        fail "floodgate command '$c' is not in docs/man/floodgate.1.md"; fi
done

# ---- 3. make install ----
dest=$tmp/dest
make --no-print-directory -s install B="$B" DESTDIR="$dest" PREFIX=/usr >/dev/null || fail "make install failed"
for f in usr/sbin/floodgate-collector usr/sbin/floodgate-aggregator usr/sbin/floodgate-detector \
         usr/sbin/floodgate-actuator usr/bin/floodgate usr/bin/floodgate-flowgen \
         usr/share/man/man1/floodgate.1 usr/share/man/man1/floodgate-flowgen.1 \
         usr/share/man/man5/floodgate.conf.5 usr/share/man/man8/floodgate-collector.8 \
         usr/share/man/man8/floodgate-aggregator.8 usr/share/man/man8/floodgate-detector.8 \
         usr/share/man/man8/floodgate-actuator.8 usr/lib/systemd/system/floodgate-collector.service \
         usr/lib/systemd/system/floodgate-aggregator@.service \
         usr/lib/systemd/system/floodgate-detector.service \
         usr/lib/systemd/system/floodgate-actuator.service usr/lib/systemd/system/floodgate.target \
         usr/lib/sysusers.d/floodgate.conf etc/floodgate/floodgate.conf \
         usr/share/doc/floodgate/floodgate.conf.example; do
    if [ -s "$dest/$f" ]; then ok; else fail "make install did not install /$f"; fi
done
if grep -l '@[A-Z]*@' "$dest"/usr/lib/systemd/system/* >/dev/null 2>&1; then
    fail "unsubstituted @VAR@ in installed units"; else ok; fi
grep -q '^ExecStart=/usr/sbin/floodgate-aggregator -c /etc/floodgate/floodgate.conf --shard %i$' \
    "$dest/usr/lib/systemd/system/floodgate-aggregator@.service" && ok ||
    fail "floodgate-aggregator@.service: ExecStart is not the installed binary with --shard %i"
# an operator's configuration is never overwritten
echo "# mine" > "$dest/etc/floodgate/floodgate.conf"
make --no-print-directory -s install B="$B" DESTDIR="$dest" PREFIX=/usr >/dev/null
[ "$(cat "$dest/etc/floodgate/floodgate.conf")" = "# mine" ] && ok ||
    fail "make install overwrote an existing floodgate.conf"

# ---- 4. systemd-analyze verify (installed under a prefix, so paths exist) ----
if command -v systemd-analyze >/dev/null; then
    pre=$tmp/prefix
    make --no-print-directory -s install B="$B" PREFIX="$pre" SYSCONFDIR="$pre/etc" >/dev/null
    u=$pre/lib/systemd/system
    cp "$u/floodgate-aggregator@.service" "$u/floodgate-aggregator@0.service"
    if out=$(cd "$u" && MANPATH="$pre/share/man:" systemd-analyze verify floodgate-collector.service \
            floodgate-aggregator@0.service floodgate-detector.service floodgate-actuator.service \
            floodgate.target 2>&1) && [ -z "$out" ]; then ok; else
        fail "systemd-analyze verify: $out"; fi
else
    fail "systemd-analyze not found (package systemd)"
fi

# ---- 5. docker-compose ----
if ! command -v docker-compose >/dev/null; then
    fail "docker-compose not found (deploy/deps.sh installs it)"
elif ! resolved=$(cd deploy && docker-compose -f docker-compose.yml config 2>&1); then
    fail "docker-compose config: $resolved"
else
    ok
    # every floodgate service's command and environment against the loader
    cat > "$tmp/envcheck.py" <<'PY'
import os, subprocess, sys, yaml
b = sys.argv[1]
doc = yaml.safe_load(sys.stdin)
n = 0
for name, svc in doc["services"].items():
    cmd = svc.get("command")
    cmd = cmd.split() if isinstance(cmd, str) else (cmd or [])
    if not cmd or not cmd[0].startswith("floodgate-"):
        continue
    env = {k: str(v) for k, v in (svc.get("environment") or {}).items()}
    if env.get("FLOODGATE_COLLECTOR_ID") == "auto":
        env["FLOODGATE_COLLECTOR_ID"] = "3735928559"
    keep = {k: v for k, v in os.environ.items() if not k.startswith("FLOODGATE_")}
    r = subprocess.run([os.path.join(b, cmd[0])] + cmd[1:] + ["-c", "deploy/floodgate.conf", "-t"],
                       env={**keep, **env}, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"service {name}: {r.stderr.strip()}")
    n += 1
print(f"checked={n}")
PY
    envcheck=$(python3 "$tmp/envcheck.py" "$B" <<<"$resolved")
    if grep -qE "^checked=[5-9]$" <<<"$envcheck" && [ "$(grep -vc '^checked=' <<<"$envcheck")" = 0 ]; then
        ok; else fail "compose environment vs config loader: $envcheck"; fi
fi

# ---- 6. gobgpd config, scripts ----
if command -v gobgpd >/dev/null; then
    if gobgpd -d -f deploy/docker/gobgpd.toml >/dev/null 2>&1; then ok; else
        fail "gobgpd -d rejects deploy/docker/gobgpd.toml"; fi
else
    fail "gobgpd not found (deploy/deps.sh installs it)"
fi
for s in deploy/docker/*.sh deploy/*.sh tests/e2e/*.sh; do
    [ -e "$s" ] || continue
    if sh -n "$s" 2>/dev/null || bash -n "$s"; then ok; else fail "$s does not parse"; fi
done

# ---- 7. metric names and labels: code vs README table and man pages ----
if out=$(python3 tests/check_metrics_doc.py .); then ok; else
    while read -r line; do fail "$line"; done <<<"$(grep -v ' faults$' <<<"$out")"
fi

echo "deploy-check: $checks checks passed, $fails failed"
[ "$fails" = 0 ]
