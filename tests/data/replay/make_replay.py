#!/usr/bin/python3
"""Make the replay captures of tests/data/replay/ (run once; the results are
committed with their golden outputs, see tests/test_replay.c).

Each capture holds flow-export datagrams as a collector would receive them
(Ethernet / IPv4 / UDP to 127.0.0.1:2055 or :6343), fixed timestamps, and a
seeded random generator, so running this again gives the same bytes.

  attack_ipfix.pcap   IPFIX, one exporter: 20 hosts of web traffic for 60 s,
                      and from 20 s to 40 s a DNS amplification flood
                      (sport 53, 50 sources x 1000 pps) to 10.0.1.7
  longflow_v9.pcap    NetFlow v9, 10 minutes of long flows exported every
                      active timeout (60 s and 30 s): a 15 kpps backup to
                      10.0.2.10 and a 5 kpps download to 10.0.2.11 must
                      not be banned (counted at once they would be 60x)
  mix_v5.pcap         NetFlow v5, three exporters, 100 hosts with
                      Pareto-distributed rates (alpha 1.2), and 10.0.4.200
                      receiving 9 kpps of UDP through each exporter from
                      20 s to 40 s: only
                      the three together cross 20 kpps
  sflow_sampled.pcap  sFlow v5, sampling 1 in 1000: 10 hosts of TCP, and
                      from 15 s to 35 s a SYN flood (30 samples/s, 30 kpps)
                      to 10.0.6.5
  hostile_ipfix.pcap  attack_ipfix.pcap with garbage between its datagrams:
                      random bytes, every export version with cut headers,
                      frames cut by the snap length, non-UDP packets, IPv4
                      fragments, a data set of a template never sent

Usage: tests/data/replay/make_replay.py [OUTDIR]
"""
import os, random, struct, sys
from scapy.all import Ether, IP, TCP, UDP, Raw, wrpcap

T0 = 1795000000  # 2026-11-18T11:06:40Z
MAC = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def frame(exporter, port, payload, t):
    p = Ether(**MAC) / IP(src=exporter, dst="127.0.0.1", id=0) / UDP(sport=40000, dport=port) / Raw(payload)
    p.time = t
    return p


# ---- IPFIX (RFC 7011) ----
IPFIX_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (2, 8), (1, 8), (152, 8), (153, 8)]


def ipfix_msgs(recs, export_s, seq, domain, with_template):
    """recs: (src, dst, sport, dport, proto, flags, pkts, bytes, start_ms, end_ms)."""
    out = []
    for i in range(0, max(len(recs), 1), 25):
        chunk = recs[i:i + 25]
        sets = b""
        if with_template and i == 0:
            body = struct.pack("!HH", 256, len(IPFIX_FIELDS)) + b"".join(struct.pack("!HH", a, b) for a, b in IPFIX_FIELDS)
            sets += struct.pack("!HH", 2, 4 + len(body)) + body
        data = b"".join(struct.pack("!4s4sHHBBQQQQ", ip4(r[0]), ip4(r[1]), *r[2:]) for r in chunk)
        if data:
            sets += struct.pack("!HH", 256, 4 + len(data)) + data
        out.append(struct.pack("!HHIII", 10, 16 + len(sets), export_s, seq, domain) + sets)
        seq += len(chunk)
    return out, seq


def attack_ipfix(rng):
    pk, seq = [], 0
    hosts = ["10.0.1.%d" % h for h in range(1, 21)]
    for s in range(60):
        t = T0 + s
        recs = []
        for h in hosts:
            for f in range(3):
                pps = rng.randint(200, 2000)
                recs.append(("198.51.100.%d" % rng.randint(10, 250), h, rng.randint(1024, 65535), 443, 6, 0x18,
                             pps, pps * 900, t * 1000, t * 1000 + 999))
        if 20 <= s < 40:
            for a in range(50):
                recs.append(("203.0.113.%d" % (a + 1), "10.0.1.7", 53, rng.randint(1024, 65535), 17, 0,
                             1000, 1000 * 1400, t * 1000, t * 1000 + 999))
        msgs, seq = ipfix_msgs(recs, t + 1, seq, 1, s % 10 == 0)
        for k, m in enumerate(msgs):
            pk.append(frame("198.51.100.1", 2055, m, t + 1 + k * 0.01))
    return pk


# ---- NetFlow v9 (RFC 3954) ----
V9_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (2, 4), (1, 4), (22, 4), (21, 4)]
BOOT = T0 - 3600  # the exporter's boot time: sysUptime = now - BOOT


def v9_msg(recs, now_s, seq, template):
    up = (now_s - BOOT) * 1000
    sets = b""
    if template:
        body = struct.pack("!HH", 256, len(V9_FIELDS)) + b"".join(struct.pack("!HH", a, b) for a, b in V9_FIELDS)
        sets += struct.pack("!HH", 0, 4 + len(body)) + body
    data = b"".join(struct.pack("!4s4sHHBBIIII", ip4(r[0]), ip4(r[1]), r[2], r[3], r[4], r[5], r[6], r[7],
                                r[8] - BOOT * 1000, r[9] - BOOT * 1000) for r in recs)
    if data:
        data += b"\0" * ((4 - len(data) % 4) % 4)
        sets += struct.pack("!HH", 256, 4 + len(data)) + data
    return struct.pack("!HHIIII", 9, len(recs) + (1 if template else 0), up, now_s, seq, 7) + sets


def longflow_v9(rng):
    pk, seq = [], 0
    for s in range(600):
        t = T0 + s
        recs = []
        if s > 0 and s % 60 == 0:  # the backup's record of the last 60 s
            recs.append(("198.51.100.50", "10.0.2.10", 22, 50022, 6, 0x18, 15000 * 60, 15000 * 60 * 1400,
                         (t - 60) * 1000, t * 1000 - 1))
        if s > 0 and s % 30 == 0:  # the download's, every 30 s
            recs.append(("198.51.100.60", "10.0.2.11", 443, 50443, 6, 0x18, 5000 * 30, 5000 * 30 * 1400,
                         (t - 30) * 1000, t * 1000 - 1))
        for h in range(1, 6):  # short flows of other hosts
            pps = rng.randint(10, 300)
            recs.append(("198.51.100.%d" % rng.randint(70, 90), "10.0.2.%d" % (20 + h), rng.randint(1024, 65535),
                         80, 6, 0x1b, pps, pps * 600, t * 1000, t * 1000 + 999))
        pk.append(frame("198.51.100.2", 2055, v9_msg(recs, t + 1, seq, s % 20 == 0), t + 1))
        seq += 1
    return pk


# ---- NetFlow v5 ----
def v5_msgs(recs, now_s, seq, engine):
    out = []
    up = (now_s - BOOT) * 1000
    for i in range(0, len(recs), 30):
        chunk = recs[i:i + 30]
        body = b"".join(struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", ip4(r[0]), ip4(r[1]), b"\0" * 4, 1, 2, r[6], r[7],
                                    r[8] - BOOT * 1000, r[9] - BOOT * 1000, r[2], r[3], 0, r[5], r[4], 0,
                                    0, 0, 0, 0, 0) for r in chunk)
        out.append(struct.pack("!HHIIIIBBH", 5, len(chunk), up, now_s, 0, seq, 0, engine, 0) + body)
        seq += len(chunk)
    return out, seq


def mix_v5(rng):
    hosts = ["10.0.4.%d" % h for h in range(1, 51)] + ["10.0.5.%d" % h for h in range(1, 51)]
    rate = {h: min(12000, int(10 * rng.paretovariate(1.2))) for h in hosts}
    exporters = ["198.51.100.3", "198.51.100.4", "198.51.100.5"]
    seqs = [0, 0, 0]
    pk = []
    for s in range(60):
        t = T0 + s
        per = [[], [], []]
        for h in hosts:
            e = rng.randrange(3)
            pps = rate[h]
            per[e].append(("198.51.100.%d" % rng.randint(100, 200), h, rng.randint(1024, 65535),
                           rng.choice([80, 443, 25, 993]), 6, 0x18, pps, pps * rng.randint(80, 1400),
                           t * 1000, t * 1000 + 999))
        if 20 <= s < 40:
            for e in range(3):
                for k in range(9):
                    per[e].append(("203.0.113.%d" % (1 + e * 9 + k), "10.0.4.200", rng.randint(1024, 65535),
                                   rng.randint(1024, 65535), 17, 0, 1000, 1000 * 512, t * 1000, t * 1000 + 999))
        for e in range(3):
            msgs, seqs[e] = v5_msgs(per[e], t + 1, seqs[e], e)
            for k, m in enumerate(msgs):
                pk.append(frame(exporters[e], 2055, m, t + 1 + e * 0.1 + k * 0.01))
    return pk


# ---- sFlow v5 ----
def sflow_sample(seq, rate, pool, hdr):
    frame_len = len(hdr) + 4
    rec = struct.pack("!IIII", 1, frame_len, 4, len(hdr)) + hdr + b"\0" * ((4 - len(hdr) % 4) % 4)
    body = struct.pack("!IIIIIIII", seq, 3, rate, pool, 0, 3, 4, 1) + struct.pack("!II", 1, len(rec)) + rec
    return struct.pack("!II", 1, len(body)) + body


def sflow_dgram(samples, seq, up):
    return struct.pack("!II4sIIII", 5, 1, ip4("198.51.100.6"), 0, seq, up, len(samples)) + b"".join(samples)


def sflow_sampled(rng):
    pk, dseq, sseq = [], 0, 0
    for s in range(60):
        t = T0 + s
        for tenth in range(10):
            samples = []
            for h in range(1, 11):
                if rng.random() < 0.2:  # 2 samples/s: 2000 pps
                    hdr = bytes(Ether(**MAC) / IP(src="198.51.100.%d" % rng.randint(100, 200), dst="10.0.6.%d" % h, id=0)
                                / TCP(sport=443, dport=rng.randint(1024, 65535), flags="A") / Raw(b"x" * 40))
                    sseq += 1
                    samples.append(sflow_sample(sseq, 1000, sseq * 1000, hdr))
            if 15 <= s < 35:
                for k in range(3):  # 30 samples/s: 30 kpps of SYN
                    hdr = bytes(Ether(**MAC) / IP(src="203.0.113.%d" % rng.randint(1, 254), dst="10.0.6.5", id=0)
                                / TCP(sport=rng.randint(1024, 65535), dport=80, flags="S"))
                    sseq += 1
                    samples.append(sflow_sample(sseq, 1000, sseq * 1000, hdr))
            if samples:
                dseq += 1
                up = (t - BOOT) * 1000 + tenth * 100
                pk.append(frame("198.51.100.6", 6343, sflow_dgram(samples, dseq, up), t + tenth * 0.1))
    return pk


def hostile(rng, base):
    pk = []
    for i, p in enumerate(base):
        pk.append(p)
        t = float(p.time)
        junk = []
        junk.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 200))))
        junk.append(struct.pack("!H", rng.choice([5, 9, 10, 0])) + bytes(rng.randrange(256) for _ in range(10)))
        junk.append(struct.pack("!HHIII", 10, 60, 0, 0, 1) + struct.pack("!HH", 999, 44) + b"\xff" * 40)
        for j in junk:
            pk.append(frame("198.51.100.%d" % rng.randint(200, 250), 2055, j, t))
        if i % 5 == 0:  # cut by the snap length, not UDP, a fragment
            c = Ether(bytes(frame("198.51.100.1", 2055, b"\0" * 300, t))[:60])
            c.time = t
            pk.append(c)
            q = Ether(**MAC) / IP(src="198.51.100.9", dst="127.0.0.1") / TCP(dport=2055)
            q.time = t
            pk.append(q)
            f = Ether(**MAC) / IP(src="198.51.100.9", dst="127.0.0.1", flags="MF") / UDP(dport=2055) / Raw(b"\0" * 64)
            f.time = t
            pk.append(f)
    return pk


def main():
    rng = random.Random(17)
    attack = attack_ipfix(rng)
    out = {
        "attack_ipfix.pcap": attack,
        "longflow_v9.pcap": longflow_v9(rng),
        "mix_v5.pcap": mix_v5(rng),
        "sflow_sampled.pcap": sflow_sampled(rng),
        "hostile_ipfix.pcap": hostile(rng, attack),
    }
    for name, pk in out.items():
        wrpcap(os.path.join(OUT, name), pk)
        print(name, len(pk), "packets")


if __name__ == "__main__":
    main()
