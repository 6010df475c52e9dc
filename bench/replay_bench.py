#!/usr/bin/python3
"""Replay speed on a larger capture than tests/data/replay/ holds: IPFIX,
RATE records per second for SECONDS seconds over HOSTS hosts (one flood),
written straight as pcap (no scapy: fast), then
`floodgate replay --max` on one core (taskset -c 1), RUNS times.

Usage: [DUR=MS] [KEEP=1] bench/replay_bench.py [BUILD] [RATE] [SECONDS] [HOSTS] [RUNS]
Results: bench/RESULTS.md, "Replay".
"""
import os, random, struct, subprocess, sys, tempfile

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
RATE = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
SECONDS = int(sys.argv[3]) if len(sys.argv) > 3 else 60
HOSTS = int(sys.argv[4]) if len(sys.argv) > 4 else 5000
RUNS = int(sys.argv[5]) if len(sys.argv) > 5 else 3
T0 = 1795000000
DUR = int(os.environ.get("DUR", "999"))  # ms each record lasts (0: sFlow-like samples)
FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (2, 8), (1, 8), (152, 8), (153, 8)]


def frame(payload):
    udp = struct.pack("!HHHH", 40000, 2055, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([198, 51, 100, 1]), bytes([127, 0, 0, 1]))
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + udp


def main():
    rng = random.Random(1)
    path = os.path.join(tempfile.mkdtemp(prefix="fg-replay-bench-"), "big.pcap")
    tpl = struct.pack("!HH", 256, len(FIELDS)) + b"".join(struct.pack("!HH", a, b) for a, b in FIELDS)
    tpl_set = struct.pack("!HH", 2, 4 + len(tpl)) + tpl
    seq, n = 0, 0
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for s in range(SECONDS):
            t = T0 + s
            for d in range(RATE // 25):
                data = b""
                for _ in range(25):
                    host = bytes([10, 0, rng.randrange(HOSTS // 250 + 1), rng.randrange(1, 251)])
                    data += struct.pack("!4s4sHHBBQQQQ", bytes([203, 0, 113, rng.randrange(1, 255)]), host,
                                        rng.randrange(1024, 65535), 443, 6, 0x18, 10, 8000,
                                        t * 1000, t * 1000 + 999)
                sets = (tpl_set if d == 0 else b"") + struct.pack("!HH", 256, 4 + len(data)) + data
                msg = struct.pack("!HHIII", 10, 16 + len(sets), t + 1, seq, 1) + sets
                seq += 25
                n += 25
                fr = frame(msg)
                us = d * 1000000 // (RATE // 25)
                f.write(struct.pack("<IIII", t + 1, us, len(fr), len(fr)) + fr)
    conf = os.path.join(os.path.dirname(path), "bench.conf")
    with open(conf, "w") as f:
        f.write('networks\n    monitored = "10.0.0.0/8"\n')
    print("capture: %d records of %d ms, %d s, %d hosts, %d bytes" % (n, DUR, SECONDS, HOSTS, os.path.getsize(path)))
    for _ in range(RUNS):
        r = subprocess.run(["taskset", "-c", "1", os.path.join(BUILD, "floodgate"), "-c", conf, "replay", "--max",
                            path], capture_output=True, text=True)
        print(r.stderr.strip().splitlines()[-1])
    if not os.environ.get("KEEP"):
        os.unlink(path)
        os.unlink(conf)
        os.rmdir(os.path.dirname(path))
    else:
        print(path)


if __name__ == "__main__":
    main()
