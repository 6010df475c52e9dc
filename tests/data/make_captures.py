#!/usr/bin/python3
"""Make the exporter captures in tests/data/ (run once; the results are
committed, the e2e test redoes the export live).

  flows_in.pcap       IPv4 + IPv6 TCP / UDP / ICMP flows, fixed timestamps
  sflow_in.pcap       the same plus 802.1Q, QinQ and IPv4 / IPv6 fragments
  nf9_softflowd.pcap  softflowd -v 9  of flows_in.pcap, as received on UDP
  ipfix_softflowd.pcap softflowd -v 10 -A milli of flows_in.pcap
  sflow_pmacct.pcap   pmacctd sfprobe (sampling 1) of sflow_in.pcap
  *.oracle            per destination host: packets bytes records, from
                      tshark's decoding of the export capture

Usage: tests/data/make_captures.py [OUTDIR]
"""
import json, os, socket, subprocess, sys, tempfile, time
from collections import defaultdict
from scapy.all import (Ether, Dot1Q, Dot1AD, IP, IPv6, IPv6ExtHdrFragment, TCP, UDP, ICMP,
                       ICMPv6EchoRequest, Raw, wrpcap, fragment)

T0 = 1795000000.0
MAC = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def flows():
    pk = []
    t = T0
    def add(p, dt=0.01):
        nonlocal t
        p.time = t
        t += dt
        pk.append(p)
    for i in range(6):       # UDP 203.0.113.7 -> 10.0.0.5 (DNS answers)
        add(Ether(**MAC) / IP(src="203.0.113.7", dst="10.0.0.5") / UDP(sport=53, dport=40000) / Raw(b"x" * (100 + i)))
    for i in range(4):       # TCP SYNs to 10.0.0.7:80
        add(Ether(**MAC) / IP(src="198.51.100.20", dst="10.0.0.7") / TCP(sport=1000 + i, dport=80, flags="S"))
    for i in range(3):       # TCP data 10.0.0.5 -> 198.51.100.9
        add(Ether(**MAC) / IP(src="10.0.0.5", dst="198.51.100.9") / TCP(sport=443, dport=51000, flags="PA") / Raw(b"y" * 200))
    for i in range(2):       # ICMP echo to 203.0.113.40
        add(Ether(**MAC) / IP(src="198.51.100.30", dst="203.0.113.40") / ICMP() / Raw(b"p" * 28))
    for i in range(5):       # IPv6 UDP to 2001:db8::5
        add(Ether(**MAC) / IPv6(src="2001:db8:ffff::1", dst="2001:db8::5") / UDP(sport=123, dport=123) / Raw(b"n" * 48))
    for i in range(3):       # IPv6 TCP SYN to 2001:db8::7
        add(Ether(**MAC) / IPv6(src="2001:db8:ffff::2", dst="2001:db8::7") / TCP(sport=2000 + i, dport=443, flags="S"))
    for i in range(2):       # ICMPv6 echo to 2001:db8::9
        add(Ether(**MAC) / IPv6(src="2001:db8:ffff::3", dst="2001:db8::9") / ICMPv6EchoRequest() / Raw(b"q" * 16))
    return pk


def sflow_extra(t):
    pk = []
    def add(p):
        nonlocal t
        p.time = t
        t += 0.01
        pk.append(p)
    for i in range(3):       # 802.1Q tagged UDP to 10.0.0.11
        add(Ether(**MAC) / Dot1Q(vlan=100) / IP(src="198.51.100.50", dst="10.0.0.11") / UDP(sport=9, dport=9) / Raw(b"v" * 60))
    for i in range(2):       # QinQ tagged TCP to 10.0.0.12
        add(Ether(**MAC) / Dot1AD(vlan=10) / Dot1Q(vlan=20) / IP(src="198.51.100.51", dst="10.0.0.12") / TCP(sport=7, dport=22, flags="S"))
    big = IP(src="198.51.100.52", dst="10.0.0.13", id=77) / UDP(sport=1, dport=2) / Raw(b"f" * 3000)
    for f in fragment(big, fragsize=1400):   # IPv4 fragments
        add(Ether(**MAC) / f)
    for off, m in ((0, 1), (1448 // 8, 0)):  # IPv6 fragments
        add(Ether(**MAC) / IPv6(src="2001:db8:ffff::4", dst="2001:db8::13") /
            IPv6ExtHdrFragment(offset=off, m=m, id=5, nh=17) / Raw(b"g" * 200))
    return pk


def tshark(args):
    return subprocess.run(["tshark"] + args, check=True, capture_output=True, text=True).stdout


def input_oracle(pcap):  # kept for cross-checks by hand
    """Per destination: packets, IP bytes (softflowd counts the IP length)
    and frame bytes (sFlow's frame length, without FCS)."""
    out = tshark(["-r", pcap, "-T", "fields", "-E", "separator=,", "-e", "ip.dst", "-e",
                  "ipv6.dst", "-e", "ip.len", "-e", "ipv6.plen", "-e", "frame.len"])
    tot = defaultdict(lambda: [0, 0, 0])
    for line in out.splitlines():
        d4, d6, l4, l6, fl = line.split(",")
        host = d4.split(",")[0] if d4 else d6
        iplen = int(l4.split(",")[0]) if l4 else int(l6) + 40
        tot[host][0] += 1
        tot[host][1] += iplen
        tot[host][2] += int(fl)
    return tot


def listen():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.5)
    return s


def drain(s, proc, port, deadline=20):
    got = []
    end = time.time() + deadline
    while time.time() < end:
        try:
            data, _ = s.recvfrom(65535)
            got.append(data)
        except socket.timeout:
            if proc.poll() is not None:
                break
    if proc.poll() is None:
        proc.terminate()
        proc.wait()
    return [Ether(**MAC) / IP(src="127.0.0.1", dst="127.0.0.1") / UDP(sport=40000, dport=port) / Raw(d)
            for d in got]


def softflowd(inpcap, version, out, extra):
    s = listen()
    port = s.getsockname()[1]
    p = subprocess.Popen(["softflowd", "-d", "-6", "-r", inpcap, "-n", "127.0.0.1:%d" % port,
                          "-v", str(version), "-c", "none"] + extra,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pk = drain(s, p, port)
    for i, x in enumerate(pk):
        x.time = T0 + 10 + i * 0.001
    wrpcap(out, pk)
    return port


def pmacct(inpcap, out, tmp):
    s = listen()
    port = s.getsockname()[1]
    conf = os.path.join(tmp, "pmacctd.conf")
    with open(conf, "w") as f:
        f.write("daemonize: false\npcap_savefile: %s\npcap_savefile_wait: false\n"
                "plugins: sfprobe[sf]\nsfprobe_receiver[sf]: 127.0.0.1:%d\nsampling_rate: 1\n"
                "sfprobe_agentip[sf]: 127.0.0.1\n" % (inpcap, port))
    p = subprocess.Popen(["pmacctd", "-f", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    pk = drain(s, p, port)
    for i, x in enumerate(pk):
        x.time = T0 + 10 + i * 0.001
    wrpcap(out, pk)
    return port


def _pairs(pairs):
    return pairs  # keep duplicate keys: tshark's JSON repeats them


def _walk(node, fn):
    if isinstance(node, list):
        if node and all(isinstance(x, tuple) and len(x) == 2 for x in node):
            fn(node)
            for _, v in node:
                _walk(v, fn)
        else:
            for x in node:
                _walk(x, fn)


def _get(pairs, key):
    for k, v in pairs:
        if k == key:
            return v
    return None


def _find(pairs, key):
    """The first value of key anywhere under pairs."""
    found = []
    _walk(pairs, lambda p: found.append(_get(p, key)) if _get(p, key) is not None else None)
    return found[0] if found else None


def export_oracle(pcap, port, proto):
    """Per destination: packets and bytes as tshark decodes the export."""
    out = tshark(["-r", pcap, "-d", "udp.port==%d,%s" % (port, proto), "-T", "json",
                  "-o", "ip.defragment:FALSE"])
    tree = json.loads(out, object_pairs_hook=_pairs)
    tot = defaultdict(lambda: [0, 0, 0])
    def flow(p):
        if _get(p, "cflow.packets") is not None:
            host = _get(p, "cflow.dstaddr") or _get(p, "cflow.dstaddrv6")
            tot[host][0] += int(_get(p, "cflow.packets"))
            tot[host][1] += int(_get(p, "cflow.octets"))
            tot[host][2] += 1
        if _get(p, "sflow.flow_sample.sampling_rate") is not None:
            rate = int(_get(p, "sflow.flow_sample.sampling_rate"))
            frame = int(_find(p, "sflow_245.header.frame_length"))
            host = _find(p, "ip.dst") or _find(p, "ipv6.dst")
            tot[host][0] += rate
            tot[host][1] += frame * rate
            tot[host][2] += 1
    _walk(tree, flow)
    return tot


def write_oracle(path, tot, comment):
    """One line per destination host: packets bytes records."""
    with open(path, "w") as f:
        f.write("# %s\n# host packets bytes records\n" % comment)
        for h in sorted(tot):
            f.write("%s %d %d %d\n" % (h, tot[h][0], tot[h][1], tot[h][2]))


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        fin = os.path.join(outdir, "flows_in.pcap")
        sin = os.path.join(outdir, "sflow_in.pcap")
        base = flows()
        wrpcap(fin, base)
        wrpcap(sin, base + sflow_extra(base[-1].time + 0.01))
        p9 = softflowd(fin, 9, os.path.join(outdir, "nf9_softflowd.pcap"), [])
        p10 = softflowd(fin, 10, os.path.join(outdir, "ipfix_softflowd.pcap"), ["-A", "milli"])
        ps = pmacct(sin, os.path.join(outdir, "sflow_pmacct.pcap"), tmp)
        for name, port, proto in (("nf9_softflowd", p9, "cflow"),
                                  ("ipfix_softflowd", p10, "cflow"),
                                  ("sflow_pmacct", ps, "sflow")):
            tot = export_oracle(os.path.join(outdir, name + ".pcap"), port, proto)
            write_oracle(os.path.join(outdir, name + ".oracle"), tot,
                         "tshark -r %s.pcap -d udp.port==%d,%s -T json: per destination"
                         % (name, port, proto))


if __name__ == "__main__":
    main()
