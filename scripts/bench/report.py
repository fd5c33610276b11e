#!/usr/bin/env python3
"""Summarises scripts/bench.sh results: the median of the runs per (mode, endpoint), next to
GET /healthz of the same server as the baseline, with the ratios; then PostgreSQL's medians as ratios to
SQLite FULL's (modes: full and normal are SQLite's synchronous settings, postgres is PostgreSQL); then the
delivery case: the healthy merchant's deliveries/s alone and beside a hanging endpoint, medians and their
ratio.

Input lines: <mode>\t<endpoint>\t<run>\tRESULT requests=… rps=… p50_ms=… p99_ms=… errors=… paid=… wrapped=… cpu_ms=…
Delivery lines (second file): <mode>\t<case>\t<run>\tRESULT count=… seconds=… rate=… duplicates=…
Socket lines (third file): <run>\tRESULT sockets count=… rss_before_kib=… rss_with_sockets_kib=… peak_kib=… per_socket_kib=…
"""
import statistics
import sys
from collections import defaultdict

ORDER = ["healthz", "create", "status", "notify"]
LABEL = {
    "healthz": "GET /healthz (baseline)",
    "create": "POST /api/payments/qris/create",
    "status": "GET /api/payments/{id}/status",
    "notify": "notification → paid",
}


NAME = {"full": "SQLite FULL", "normal": "SQLite NORMAL", "postgres": "PostgreSQL"}


def fields(result):
    return {k: float(v) for k, v in (kv.split("=") for kv in result.split()[1:] if "=" in kv)}


def delivery(path):
    runs = defaultdict(list)
    for line in open(path):
        mode, case, _run, result = line.rstrip("\n").split("\t", 3)
        runs[(mode, case)].append(fields(result))
    if not runs:
        return
    print()
    print("| database | webhook delivery | healthy deliveries/s (median) | runs | each run | duplicates |")
    print("| --- | --- | ---: | ---: | --- | ---: |")
    modes = sorted({mode for mode, _ in runs}, key=lambda m: (m != "full", m))
    medians = {}
    for mode in modes:
        for case, label in [("alone", "healthy endpoint alone"), ("hanging", "beside a hanging endpoint with a backlog")]:
            results = runs.get((mode, case))
            if not results:
                continue
            medians[(mode, case)] = statistics.median(r["rate"] for r in results)
            each = ", ".join(f"{r['rate']:,.0f}" for r in results)
            dups = int(sum(r["duplicates"] for r in results))
            print(f"| {NAME.get(mode, mode)} | {label} | {medians[(mode, case)]:,.0f} | {len(results)} | {each} | {dups} |")
    print()
    for mode in modes:
        alone, hanging = medians.get((mode, "alone")), medians.get((mode, "hanging"))
        if alone and hanging:
            print(f"{NAME.get(mode, mode)}: with the hanging endpoint / without: {hanging / alone:.2f}× (goal ≥ 0.8×)")
        if alone is not None and alone < 2000:
            print(f"WARNING: {NAME.get(mode, mode)}: the healthy endpoint alone drained below 2,000 deliveries/s")


def sockets(path):
    runs = []
    for line in open(path):
        _run, result = line.rstrip("\n").split("\t", 1)
        runs.append(fields(result))
    if not runs:
        return
    median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print()
    print("| idle merchant sockets | RSS without, MiB | RSS with, MiB | peak RSS, MiB | KiB per socket | runs | each run, KiB per socket |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    each = ", ".join(f"{r['per_socket_kib']:.1f}" for r in runs)
    print(
        f"| {median['count']:,.0f} | {median['rss_before_kib'] / 1024:.1f} | {median['rss_with_sockets_kib'] / 1024:.1f} "
        f"| {median['peak_kib'] / 1024:.1f} | {median['per_socket_kib']:.1f} | {len(runs)} | {each} |"
    )
    if median["per_socket_kib"] > 16:
        print("WARNING: more than 16 KiB per idle socket")
    if median["peak_kib"] > 64 * 1024:
        print("WARNING: peak RSS above 64 MiB")


def main(path, delivery_path=None, sockets_path=None):
    runs = defaultdict(list)
    for line in open(path):
        mode, endpoint, _run, result = line.rstrip("\n").split("\t", 3)
        runs[(mode, endpoint)].append(fields(result))
    modes = sorted({mode for mode, _ in runs}, key=lambda m: (m != "full", m))
    if modes:
        print("| database | endpoint | req/s | p50 ms | p99 ms | req/s vs healthz | p50 vs healthz | server CPU µs/req | runs | errors |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    warnings = []
    for mode in modes:
        base = runs.get((mode, "healthz"))
        base_rps = statistics.median(r["rps"] for r in base) if base else None
        base_p50 = statistics.median(r["p50_ms"] for r in base) if base else None
        for endpoint in ORDER:
            results = runs.get((mode, endpoint))
            if not results:
                continue
            rps = statistics.median(r["rps"] for r in results)
            p50 = statistics.median(r["p50_ms"] for r in results)
            p99 = statistics.median(r["p99_ms"] for r in results)
            errors = int(sum(r["errors"] for r in results))
            ratio_rps = f"{rps / base_rps:.2f}×" if base_rps else "-"
            ratio_p50 = f"{p50 / base_p50:.1f}×" if base_p50 else "-"
            cpu = [1000 * r["cpu_ms"] / r["requests"] for r in results if "cpu_ms" in r and r["requests"]]
            cpu_us = f"{statistics.median(cpu):.0f}" if cpu else "-"
            print(f"| {NAME.get(mode, mode)} | {LABEL[endpoint]} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {ratio_rps} | {ratio_p50} | {cpu_us} | {len(results)} | {errors} |")
            if endpoint == "notify":
                wrapped = sum(r["wrapped"] for r in results)
                paid = sum(r["paid"] for r in results)
                requests = sum(r["requests"] for r in results)
                if wrapped:
                    warnings.append(f"{mode}: {int(wrapped)} notification requests re-used an invoice (duplicates); shorten BENCH_DURATION")
                if paid < requests - wrapped:
                    warnings.append(f"{mode}: only {int(paid)} of {int(requests - wrapped)} notifications paid an invoice")
    io = [(mode, endpoint, results) for mode in modes for endpoint in ORDER
          if (results := [r for r in runs.get((mode, endpoint), []) if "pwrites" in r and r["requests"]])]
    if io:
        print()
        print("| database | endpoint | pwrite64 / req | pread64 / req | requests per fsync |")
        print("| --- | --- | ---: | ---: | ---: |")
        for mode, endpoint, results in io:
            per = lambda key: statistics.median(r[key] / r["requests"] for r in results)
            synced = [r["requests"] / r["fsyncs"] for r in results if r["fsyncs"]]
            syncs = f"{statistics.median(synced):.1f}" if synced else "-"
            print(f"| {NAME.get(mode, mode)} | {LABEL[endpoint]} | {per('pwrites'):.1f} | {per('preads'):.1f} | {syncs} |")
    if ("postgres", "create") in runs and ("full", "create") in runs:
        print()
        print("| endpoint | PostgreSQL req/s ÷ SQLite FULL | PostgreSQL p50 ÷ SQLite FULL |")
        print("| --- | ---: | ---: |")
        for endpoint in ORDER:
            pg, lite = runs.get(("postgres", endpoint)), runs.get(("full", endpoint))
            if not pg or not lite:
                continue
            rps = statistics.median(r["rps"] for r in pg) / statistics.median(r["rps"] for r in lite)
            p50 = statistics.median(r["p50_ms"] for r in pg) / statistics.median(r["p50_ms"] for r in lite)
            print(f"| {LABEL[endpoint]} | {rps:.2f}× | {p50:.2f}× |")
    for w in warnings:
        print(f"WARNING: {w}")
    if delivery_path:
        delivery(delivery_path)
    if sockets_path:
        sockets(sockets_path)


if __name__ == "__main__":
    main(*sys.argv[1:4])
