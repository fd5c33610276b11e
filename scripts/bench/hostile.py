#!/usr/bin/env python3
"""Memory ceilings of the server under issue 9's floods (run by scripts/bench.sh).

Usage: hostile.py registrations --base URL --pid PID --count N
       hostile.py sockets --base URL --pid PID (--token TOKEN | --merchants merchants.tsv) --count N

Prints one line `RESULT <name> rss_before_kib=… rss_peak_kib=… …` read by bench.sh. Peak RSS is the
kernel's VmHWM of the server process; every request goes to the loopback address the server listens on.
`sockets` spreads its sockets over the tokens of `--merchants` (seed.py's merchants file) when given.
"""
import argparse
import base64
import http.client
import json
import os
import socket
import sys
import threading
import time
from urllib.parse import urlparse


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise SystemExit(f"no {field} for pid {pid}")


def register(host, port, n, results):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("GET", "/dashboard/api/session")
    response = conn.getresponse()
    body = json.loads(response.read())
    cookie = response.getheader("set-cookie").split(";", 1)[0]
    payload = json.dumps({"email": f"flood{n}@example.com", "password": "kata-sandi-rahasia"})
    conn.request(
        "POST",
        "/dashboard/api/register",
        body=payload,
        headers={"Content-Type": "application/json", "Cookie": cookie, "X-CSRF-Token": body["csrf_token"]},
    )
    response = conn.getresponse()
    response.read()
    results.append(response.status)
    conn.close()


def registrations(args):
    url = urlparse(args.base)
    before = status_kib(args.pid, "VmRSS")
    results, threads = [], []
    start = threading.Barrier(args.count)

    def worker(n):
        start.wait()
        register(url.hostname, url.port, n, results)

    for n in range(args.count):
        t = threading.Thread(target=worker, args=(n,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    statuses = {s: results.count(s) for s in sorted(set(results))}
    print(
        f"RESULT registrations count={args.count} rss_before_kib={before} "
        f"rss_peak_kib={status_kib(args.pid, 'VmHWM')} statuses={json.dumps(statuses, separators=(',', ':'))}"
    )


def sockets(args):
    url = urlparse(args.base)
    tokens = [line.split("\t")[1] for line in open(args.merchants)] if args.merchants else [args.token]
    time.sleep(1)  # let a freshly started server settle before the baseline
    before = status_kib(args.pid, "VmRSS")
    held = []
    for n in range(args.count):
        s = socket.create_connection((url.hostname, url.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(
            (
                f"GET /ws/merchant?token={tokens[n % len(tokens)]} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
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
        held.append(s)
    time.sleep(1)  # let the server settle what the sockets allocated before reading its RSS
    now = status_kib(args.pid, "VmRSS")
    print(
        f"RESULT sockets count={len(held)} rss_before_kib={before} rss_with_sockets_kib={now} "
        f"peak_kib={status_kib(args.pid, 'VmHWM')} per_socket_kib={(now - before) / len(held):.1f}"
    )
    for s in held:
        s.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["registrations", "sockets"])
    parser.add_argument("--base", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--token")
    parser.add_argument("--merchants")
    args = parser.parse_args()
    registrations(args) if args.what == "registrations" else sockets(args)


if __name__ == "__main__":
    sys.exit(main())
