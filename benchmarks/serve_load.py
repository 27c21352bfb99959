"""Load and hostile traffic against ``matcalc serve``: 2,000 requests from 8 concurrent clients,
10% of them hostile.

The server runs as users run it (``matcalc serve`` in its own process, with its worker
processes). Normal requests derive and verify the README's examples; hostile ones send 100 kB
bodies, expressions nested 3,000 deep, huge exponents, malformed JSON, wrong content types and
foreign Host headers. Reported: the p50 and p99 latency of normal requests (repeated requests
are answered from the server's cache of recent answers), the latency of each example's first,
uncached request from one client, the failures of
normal requests (anything but 200), the hostile requests not answered with a 4xx status, the
resident memory of the server and its workers before (after a warm-up) and after, and whether the
server still answers.

Usage: ``python benchmarks/serve_load.py [--requests 2000] [--clients 8]``.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

NORMAL = [
    ("/api/derive", {"f": "x.T @ A @ x", "wrt": "x"}),
    ("/api/derive", {"f": "0.5 * norm2(A @ x - b) ** 2", "wrt": "x"}),
    ("/api/derive", {"f": "sum(log(1 + exp(-y * (X @ w))))", "wrt": "w", "shapes": {"X": "N,n", "y": "N", "w": "n"}}),
    ("/api/derive", {"f": "sum(log(1 + exp(-y * (X @ w))))", "wrt": "w", "order": 2,
                     "shapes": {"X": "N,n", "y": "N", "w": "n"}}),
    ("/api/derive", {"f": "logdet(X)", "wrt": "X", "shapes": {"X": "n,n:spd"}}),
    ("/api/derive", {"f": "0.5 * norm2(W2 @ tanh(W1 @ x + b1) - y) ** 2", "wrt": ["W1", "W2"]}),
    ("/api/derive", {"f": r"\frac{1}{2} \| W x - t \|_2^2", "wrt": "W", "syntax": "latex"}),
    ("/api/verify", {"f": "x.T @ A @ x", "wrt": "x", "claimed": "2 * A @ x"}),
]
HOSTILE = [
    ("big body", "/api/derive", b'{"f": "' + b"x + " * 25_000 + b'x", "wrt": "x"}', "application/json", None),
    ("deep nesting", "/api/derive", json.dumps({"f": "(" * 3000 + "x" + ")" * 3000, "wrt": "x"}).encode(),
     "application/json", None),
    ("huge exponent", "/api/derive", json.dumps({"f": "x ** 10 ** 400", "wrt": "x"}).encode(), "application/json",
     None),
    ("tower of powers", "/api/derive", json.dumps({"f": "sum(x ** 9 ** 9 ** 9)", "wrt": "x"}).encode(),
     "application/json", None),
    ("malformed JSON", "/api/derive", b'{"f": "x", "wrt": ', "application/json", None),
    ("wrong content type", "/api/derive", b"f=x&wrt=x", "application/x-www-form-urlencoded", None),
    ("foreign Host", "/api/derive", json.dumps({"f": "x.T @ x", "wrt": "x"}).encode(), "application/json",
     "attacker.example"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the worker processes), in MB."""
    total = 0.0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return total


def send(port: int, path: str, body: bytes, content_type: str, host: str | None = None) -> tuple:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": content_type}
    if host:
        headers["Host"] = host
    start = time.perf_counter()
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    port = free_port()
    log = tempfile.TemporaryFile()   # the server's request log (a pipe nobody reads would fill and block it)
    server = subprocess.Popen([sys.executable, "-m", "matcalc.cli", "serve", "--port", str(port)],
                              stderr=log, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        for _ in range(600):   # until it answers
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        cold = [send(port, path, json.dumps(body).encode(), "application/json")[1] * 1000   # warm-up, timed:
                for path, body in NORMAL]   # each example once, one client, nothing cached yet
        before = rss_mb(server.pid)
        rng = random.Random(0)
        plan = [("hostile", rng.choice(HOSTILE)) if rng.random() < 0.1 else ("normal", rng.choice(NORMAL))
                for _ in range(args.requests)]
        results: list = []
        lock = threading.Lock()
        queue = list(enumerate(plan))

        def client():
            while True:
                with lock:
                    if not queue:
                        return
                    _, (kind, item) = queue.pop()
                if kind == "normal":
                    status, seconds = send(port, item[0], json.dumps(item[1]).encode(), "application/json")
                    outcome = (kind, item[1]["f"], status, seconds)
                else:
                    name, path, body, content_type, host = item
                    status, seconds = send(port, path, body, content_type, host)
                    outcome = (kind, name, status, seconds)
                with lock:
                    results.append(outcome)

        start = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        after = rss_mb(server.pid)
        alive = send(port, "/api/derive", json.dumps({"f": "x.T @ x", "wrt": "x"}).encode(), "application/json")[0]
    finally:
        server.terminate()
        server.wait(timeout=30)
    normal = [r for r in results if r[0] == "normal"]
    hostile = [r for r in results if r[0] == "hostile"]
    latencies = sorted(r[3] * 1000 for r in normal)
    print(f"{len(results)} requests ({len(normal)} normal, {len(hostile)} hostile) from {args.clients} clients "
          f"in {wall:.1f} s")
    print(f"normal: p50 {statistics.median(latencies):.0f} ms, p99 {latencies[int(0.99 * len(latencies))]:.0f} ms, "
          f"failures {sum(r[2] != 200 for r in normal)} (answers of repeated requests come from the server's cache)")
    print(f"uncached, one client (the first request of each example): p50 {statistics.median(cold):.0f} ms, "
          f"max {max(cold):.0f} ms")
    by_example = {}
    for _, f, _, seconds in normal:
        by_example.setdefault(f, []).append(seconds * 1000)
    for f, values in by_example.items():
        print(f"  p50 {statistics.median(values):6.0f} ms  {f}")
    statuses = {}
    for _, name, status, _seconds in hostile:
        statuses.setdefault(name, set()).add(status)
    not_4xx = sum(not 400 <= r[2] < 500 for r in hostile)
    print(f"hostile: {not_4xx} not answered with a 4xx; statuses: "
          + ", ".join(f"{name} {sorted(s)}" for name, s in sorted(statuses.items())))
    print(f"slowest hostile answer: {max(r[3] for r in hostile):.2f} s")
    print(f"server + workers RSS: {before:.0f} MB after warm-up, {after:.0f} MB after the load; "
          f"still answering: {alive == 200}")


if __name__ == "__main__":
    main()
