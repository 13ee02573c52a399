#!/usr/bin/env python3
"""arp_send.py IFACE OP SENDER_IP[/COUNT] TARGET_IP [SENDER_MAC] [DST_MAC]

Sends ARP packets on IFACE through a raw AF_PACKET socket (the tests run it
inside a workload's namespace): OP "request" or "reply"; SENDER_IP/COUNT
sends COUNT packets, sender addresses SENDER_IP, SENDER_IP+1, ...;
SENDER_MAC defaults to IFACE's own, DST_MAC to broadcast. Prints how many
it sent.
"""
import ipaddress
import socket
import struct
import sys


def mac_bytes(s):
    b = bytes(int(x, 16) for x in s.split(":"))
    if len(b) != 6:
        raise ValueError("bad MAC " + s)
    return b


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    ifname, op, sip, tip = sys.argv[1:5]
    count = 1
    if "/" in sip:
        sip, c = sip.split("/")
        count = int(c)
    opcode = {"request": 1, "reply": 2}[op]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    # the interface's own MAC as the socket's namespace sees it (/sys may
    # be another namespace's after setns)
    own = s.getsockname()[4][:6]
    sha = mac_bytes(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] else own
    dst = mac_bytes(sys.argv[6]) if len(sys.argv) > 6 else b"\xff" * 6
    base = int(ipaddress.IPv4Address(sip))
    tpa = ipaddress.IPv4Address(tip).packed
    tha = b"\x00" * 6 if opcode == 1 else dst
    for i in range(count):
        spa = ipaddress.IPv4Address(base + i).packed
        pkt = (dst + own + struct.pack("!H", 0x0806) +
               struct.pack("!HHBBH", 1, 0x0800, 6, 4, opcode) +
               sha + spa + tha + tpa)
        s.send(pkt)
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
