#!/usr/bin/python3
"""Send the UDP payloads of a pcap (Ethernet / IPv4) to 127.0.0.1:PORT, 2 ms
apart, in order: used by make_nfcapd.sh. Usage: send_datagrams.py PCAP PORT"""
import socket, struct, sys, time
port = int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d = open(sys.argv[1], "rb").read()
assert struct.unpack("<I", d[:4])[0] == 0xa1b2c3d4
off, n = 24, 0
while off + 16 <= len(d):
    _, _, caplen, _ = struct.unpack("<IIII", d[off:off + 16])
    f = d[off + 16:off + 16 + caplen]
    off += 16 + caplen
    if len(f) < 42 or f[12:14] != b"\x08\x00" or f[23] != 17:
        continue
    ihl = (f[14] & 15) * 4
    u = 14 + ihl
    ulen = struct.unpack(">H", f[u + 4:u + 6])[0]
    s.sendto(f[u + 8:u + ulen], ("127.0.0.1", port))
    n += 1
    time.sleep(0.002)
print(n, "datagrams")
