#!/usr/bin/env python3
"""Seeds the benchmark: merchants through the `webqris` CLI, pending invoices through the HTTP API.

  seed.py merchants --bin B --db DB --count 100 --qris Q [--webhook-url URL] --out merchants.tsv
  seed.py topup --db DB|URL --base URL --merchants merchants.tsv --per-merchant 100 --out invoices.tsv
  seed.py pay --base URL --invoices invoices.tsv

`pay` posts one DANA notification per invoice of the file (each pays it), 16 at a time.

`topup` creates invoices until every merchant has `--per-merchant` pending ones, then writes every pending
invoice (merchant_id, token, callback secret, invoice id, total, DANA notification text) to `--out`.
"""
import argparse
import concurrent.futures
import http.client
import json
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse


def run_cli(binary, db, *args):
    out = subprocess.run([binary, *args, "--db", db, "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"webqris {' '.join(args)} failed: {out.stdout} {out.stderr}")
    return json.loads(out.stdout)


def merchants(opts):
    with open(opts.out, "w") as f:
        for n in range(opts.count):
            hook = ["--webhook-url", opts.webhook_url] if opts.webhook_url else []
            m = run_cli(opts.bin, opts.db, "merchant", "create", "--name", f"Bench {n:03d}", "--qris", opts.qris, *hook)
            t = run_cli(opts.bin, opts.db, "token", "create", "--merchant", str(m["merchant_id"]))
            f.write(f"{m['merchant_id']}\t{t['token']}\t{m['callback_secret']}\n")


def read_merchants(path):
    rows = {}
    with open(path) as f:
        for line in f:
            mid, token, callback = line.rstrip("\n").split("\t")
            rows[int(mid)] = (token, callback)
    return rows


def pending(db):
    now = int(time.time() * 1000)
    query = ("SELECT merchant_id, invoice_id, total_amount FROM payments "
             "WHERE status = 'pending' AND expired_at > {} ORDER BY id")
    if db.startswith(("postgres://", "postgresql://")):
        out = subprocess.run(["psql", db, "-AtF", "\t", "-c", query.format(now)],
                             capture_output=True, text=True, check=True).stdout
        return [(int(m), inv, int(t)) for m, inv, t in (l.split("\t") for l in out.splitlines() if l)]
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    rows = conn.execute(query.format("?"), (now,)).fetchall()
    conn.close()
    return rows


def rupiah(n):
    return f"{n:,}".replace(",", ".")


def post_all(base_url, requests):
    """POSTs every (path, bearer, body) of `requests`, 16 at a time on keep-alive connections; exits on a
    status other than 200."""
    base = urllib.parse.urlparse(base_url)
    local = threading.local()

    def post(request):
        path, bearer, body = request
        headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
        for _ in range(3):
            if not hasattr(local, "conn"):
                local.conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
            try:
                local.conn.request("POST", path, body, headers)
                response = local.conn.getresponse()
                answer = response.read()
                if response.status in (200, 201):
                    return
                sys.exit(f"{path} answered {response.status}: {answer[:200]!r}")
            except (ConnectionError, http.client.HTTPException):
                del local.conn
        sys.exit(f"{path} kept failing")

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(post, requests))


def pay(opts):
    requests = []
    with open(opts.invoices) as f:
        for line in f:
            _mid, _token, callback, invoice, _total, text = line.rstrip("\n").split("\t")
            body = json.dumps({"app": "com.dana.id", "title": "DANA", "message": text,
                               "device_id": "bench", "notif_id": invoice})
            requests.append(("/api/webhook/payment", callback, body))
    post_all(opts.base, requests)
    print(f"paid {len(requests)} invoices", file=sys.stderr)


def topup(opts):
    merchants_by_id = read_merchants(opts.merchants)
    counts = {mid: 0 for mid in merchants_by_id}
    for mid, _, _ in pending(opts.db):
        if mid in counts:
            counts[mid] += 1
    jobs = [mid for mid, c in counts.items() for _ in range(max(0, opts.per_merchant - c))]
    requests = []
    for mid in jobs:
        body = json.dumps({"amount": 10000 + (hash((mid, time.time_ns())) % 990000)})
        requests.append(("/api/payments/qris/create", merchants_by_id[mid][0], body))
    post_all(opts.base, requests)
    rows = [row for row in pending(opts.db) if row[0] in merchants_by_id]
    with open(opts.out, "w") as f:
        for mid, invoice, total in rows:
            token, callback = merchants_by_id[mid]
            text = f"Kamu berhasil menerima Rp{rupiah(total)} dari BENCH CUSTOMER"
            f.write(f"{mid}\t{token}\t{callback}\t{invoice}\t{total}\t{text}\n")
    print(f"seeded {len(jobs)} invoices; {len(rows)} pending", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("merchants")
    m.add_argument("--bin", required=True)
    m.add_argument("--db", required=True)
    m.add_argument("--count", type=int, default=100)
    m.add_argument("--qris", required=True)
    m.add_argument("--webhook-url")
    m.add_argument("--out", required=True)
    t = sub.add_parser("topup")
    t.add_argument("--db", required=True)
    t.add_argument("--base", required=True)
    t.add_argument("--merchants", required=True)
    t.add_argument("--per-merchant", type=int, default=100)
    t.add_argument("--out", required=True)
    p = sub.add_parser("pay")
    p.add_argument("--base", required=True)
    p.add_argument("--invoices", required=True)
    opts = parser.parse_args()
    {"merchants": merchants, "topup": topup, "pay": pay}[opts.command](opts)


if __name__ == "__main__":
    main()
