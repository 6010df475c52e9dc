#!/usr/bin/env python3
"""Check a Grafana dashboard against what the daemons export.

usage: check_dashboard.py DASHBOARD.json METRICS.txt...

The dashboard must parse as JSON, have a title, a uid and panels, and every
floodgate_* name in its queries (targets[].expr) must be a metric present in
the scraped METRICS files (Prometheus text format). Exit 0 when so, 1 with
the list of unknown names otherwise."""
import json
import re
import sys

NAME = re.compile(r"\bfloodgate_[a-zA-Z0-9_]+")


def exprs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "expr" and isinstance(v, str):
                yield v
            else:
                yield from exprs(v)
    elif isinstance(node, list):
        for v in node:
            yield from exprs(v)


def exported(paths):
    names = set()
    for p in paths:
        with open(p) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    with open(sys.argv[1]) as f:
        dash = json.load(f)
    for key in ("title", "uid", "panels"):
        if not dash.get(key):
            print(f"dashboard has no {key}")
            return 1
    have = exported(sys.argv[2:])
    used = set()
    n = 0
    for e in exprs(dash):
        n += 1
        used.update(NAME.findall(e))
    missing = sorted(used - have)
    if n == 0 or not used:
        print("dashboard has no floodgate queries")
        return 1
    if missing:
        print("dashboard uses metrics no daemon exports:")
        for m in missing:
            print("  " + m)
        return 1
    print(f"ok: {n} queries, {len(used)} metrics, all exported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
