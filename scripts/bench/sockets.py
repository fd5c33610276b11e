#!/usr/bin/env python3
"""Memory of idle merchant WebSockets (issue 15, run by scripts/bench.sh).

Usage: sockets.py --base URL --pid PID --merchants merchants.tsv --count N

Reads the server's RSS, opens N `/ws/merchant` sockets spread over the merchants of the file (seed.py's
`merchants` output: id, token, callback secret), waits a second for the server to settle, reads its RSS
again, and prints one line `RESULT count=… rss_without_kib=… rss_with_kib=… peak_kib=… per_socket_kib=…`
(peak = the kernel's VmHWM of the server process since it started). The sockets stay open and silent
until the script exits.
"""
import argparse
import base64
import os
import socket
import sys
import time
from urllib.parse import urlparse


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise SystemExit(f"no {field} for pid {pid}")


def open_socket(url, token):
    s = socket.create_connection((url.hostname, url.port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET /ws/merchant?token={token} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit("the server closed a socket during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"handshake refused: {head.splitlines()[0]!r}")
    return s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--merchants", required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    url = urlparse(args.base)
    tokens = [line.split("\t")[1] for line in open(args.merchants)]
    time.sleep(1)  # let the freshly started server settle before the baseline
    without = status_kib(args.pid, "VmRSS")
    held = [open_socket(url, tokens[n % len(tokens)]) for n in range(args.count)]
    time.sleep(1)  # let the server settle what the sockets allocated before reading its RSS
    with_sockets = status_kib(args.pid, "VmRSS")
    print(
        f"RESULT count={len(held)} rss_without_kib={without} rss_with_kib={with_sockets} "
        f"peak_kib={status_kib(args.pid, 'VmHWM')} per_socket_kib={(with_sockets - without) / len(held):.1f}"
    )
    for s in held:
        s.close()


if __name__ == "__main__":
    sys.exit(main())
