#!/usr/bin/env python3
"""Check the metric documentation against the code (part of make deploy-check).

usage: check_metrics_doc.py [REPO_DIR]

The code: every metric family name written as a string literal
("floodgate_...") in the daemons' and common/'s C files (tables of
fg_series_t, fg_mout_family() calls), and the labels of each table row
(FG_COUNTER / FG_GAUGE / {"name", "type", "help", "labels", ...}).

The documentation:
  * the README's metric table: a row's first cell lists names, the later ones
    abbreviated to their suffix (`floodgate_collector_datagrams_total`,
    `_datagrams_malformed_total`: the prefix is floodgate_<daemon> when the
    first name has one, else floodgate); its second cell the label keys,
    with their values where it enumerates them (`result` = decoded, kept);
  * each daemon's man page (docs/man/floodgate-<daemon>.8.md), section
    METRICS, in the same abbreviated form (**_suffix**).

Fails (exit 1, one line per fault) when a family of the code is missing from
the README's table or from its daemon's man page, when either names a family
no code exports, when a row's label key is not in the README row of its
family, or when a label value is not among the values the row enumerates."""
import os
import re
import sys

DAEMONS = ("collector", "aggregator", "detector", "actuator")
CODE_DIRS = ("common",) + DAEMONS
NAME = re.compile(r'"(floodgate_[a-z0-9_]+)"')
# FG_COUNTER(T, field, "name", "labels", ...) and {"name", "type", "help", "labels", ...}
ROW_MACRO = re.compile(r'FG_(?:COUNTER|GAUGE)\(\s*\w+\s*,\s*\w+\s*,\s*"(floodgate_\w+)"\s*,\s*"((?:[^"\\]|\\.)*)"')
ROW_INIT = re.compile(r'\{\s*"(floodgate_\w+)"\s*,\s*"(?:counter|gauge)"\s*,\s*(?:"(?:[^"\\]|\\.)*"\s*)+,\s*"((?:[^"\\]|\\.)*)"')
LABEL = re.compile(r'(\w+)=\\"([^"\\]*)\\"')


def code_metrics(root):
    """{name: set of (key, value)} from the C sources."""
    names, labels = {}, {}
    for d in CODE_DIRS:
        for f in sorted(os.listdir(os.path.join(root, d))):
            if not f.endswith(".c"):
                continue
            text = open(os.path.join(root, d, f)).read()
            for n in NAME.findall(text):
                names.setdefault(n, set())
            for rx in (ROW_MACRO, ROW_INIT):
                for n, lab in rx.findall(text):
                    names.setdefault(n, set()).update(LABEL.findall(lab))
    return names


def expand(tokens):
    """Full names of a cell's `name` tokens (suffixes after the first)."""
    out = []
    prefix = "floodgate"
    for t in tokens:
        if t.startswith("floodgate_"):
            m = re.match(r"floodgate_(%s)_" % "|".join(DAEMONS), t)
            prefix = "floodgate_" + m.group(1) if m else "floodgate"
            out.append(t)
        elif t.startswith("_"):
            out.append(prefix + t)
    return out


def readme_rows(path):
    """[(names, labels cell, what cell)] of the README's metric table."""
    rows = []
    for line in open(path):
        if not line.startswith("| `floodgate_"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        names = expand(re.findall(r"`([a-z0-9_]+)`", cells[0]))
        rows.append((names, cells[1] if len(cells) > 1 else "", cells[2] if len(cells) > 2 else ""))
    return rows


def enumerated(cell):
    """{key: set of values} a labels cell enumerates: `key` = a, b, c or
    `key` (`a`, `b`, `c`)."""
    out = {}
    for k, vals in re.findall(r"`(\w+)` = ([\w, ]+)", cell):
        out[k] = {v.strip() for v in vals.split(",") if v.strip()}
    for k, vals in re.findall(r"`(\w+)` \(((?:`\w+`,? ?)+)\)", cell):
        out[k] = set(re.findall(r"`(\w+)`", vals))
    return out


def man_names(path):
    text = open(path).read()
    m = re.search(r"^# METRICS\n(.*?)(?=^# )", text, re.S | re.M)
    if not m:
        return None
    tokens = re.findall(r"\*\*\\?(_?[a-z0-9_\\]+)\*\*", m.group(1))
    return set(expand([t.replace("\\", "") for t in tokens]))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    code = code_metrics(root)
    fails = []
    rows = readme_rows(os.path.join(root, "README.md"))
    documented = {n for r in rows for n in r[0]}
    if len(code) < 50 or len(rows) < 10:
        fails.append(f"found only {len(code)} metrics in the code and {len(rows)} README rows: has the format changed?")
    for n in sorted(set(code) - documented):
        fails.append(f"{n} is exported but not in the README's metric table")
    for n in sorted(documented - set(code)):
        fails.append(f"the README's metric table lists {n}, which no daemon exports")
    for names, lab, _ in rows:
        enum = enumerated(lab)
        for n in names:
            for k, v in sorted(code.get(n, ())):
                if f"`{k}`" not in lab:
                    fails.append(f"{n}: label {k} is not in its README row")
                elif k in enum and v not in enum[k]:
                    fails.append(f'{n}: {k}="{v}" is not among the values its README row lists')
    for d in DAEMONS:
        page = os.path.join(root, "docs", "man", f"floodgate-{d}.8.md")
        mine = {n for n in code if n.startswith(f"floodgate_{d}_")}
        doc = man_names(page)
        if doc is None:
            fails.append(f"{page} has no METRICS section")
            continue
        for n in sorted(mine - doc):
            fails.append(f"{n} is not in {page} (METRICS)")
        for n in sorted(doc - set(code)):
            fails.append(f"{page} (METRICS) names {n}, which no daemon exports")
    for f in fails:
        print("metrics-doc: " + f)
    print(f"metrics-doc: {len(code)} metrics in the code, {len(fails)} faults")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
