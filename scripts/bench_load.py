"""Load on a local `storysearch serve`: a fixed number of concurrent clients
for a bounded time, mixing keyword, semantic, hybrid and similar requests.

    python scripts/bench_load.py [--index var/index] [--clients 8] [--seconds 30] [--kinds keyword,semantic]
                                 [--threads N] [--workers N] [--repeats]

Starts the server on a free loopback port (the index must exist: `storysearch
index`), waits until it answers, runs the clients, stops the server, and
prints throughput, latency p50/p95/p99 per kind of request and the errors.
Every query text is sent once (a place and one or two topics: no ranking or
embedding cache answers it) unless --repeats draws them from a small set, as
repeated searches would. --threads sets the server's model threads
(STORYSEARCH_MODEL_THREADS), --workers its processes (STORYSEARCH_WORKERS).
CPU and memory are the server's processes' together. Only 127.0.0.1 is
ever contacted.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchinfo import cores_used, describe, machine_cpu, percentile  # noqa: E402

from storysearch.index import settings  # noqa: E402
from storysearch.web.server import THREADS  # noqa: E402

# A place and one or two of these terms make a query: 8,400 distinct ones.
TERMS = ["乡贤", "老旧小区", "停车难", "电动自行车", "充电安全", "基层治理", "小马拉大车", "餐饮油烟", "扰民",
         "年轻干部", "廉洁教育", "志愿者", "上门送餐", "共同富裕", "乡村振兴", '"全域土地综合整治"', "营商环境",
         "疫情防控", "网格员", "业委会"]


PLACES = ["西湖区", "上城区", "拱墅区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区", "富阳区", "临安区",
          "海宁市", "海盐县", "桐乡市", "平湖市", "嘉善县", "南湖区", "秀洲区", "吴兴区", "南浔区", "德清县",
          "长兴县", "安吉县", "越城区", "柯桥区", "上虞区", "诸暨市", "嵊州市", "新昌县", "婺城区", "金东区",
          "义乌市", "东阳市", "永康市", "兰溪市", "庆元县", "龙泉市", "青田县", "缙云县", "遂昌县", "松阳县"]


class Queries:
    """Query texts: each one new (``repeats`` False), or one of about 400 topic pairs."""

    def __init__(self, repeats: bool):
        self.repeats, self.sent, self.lock = repeats, set(), threading.Lock()

    def __call__(self, rng: random.Random) -> str:
        while True:
            text = " ".join(rng.sample(TERMS, rng.choice([1, 2])))
            if self.repeats:
                return text
            text = f"{rng.choice(PLACES)} {text}"
            with self.lock:
                if text not in self.sent or len(self.sent) > 8000:
                    self.sent.add(text)
                    return text
MIX = [("keyword", 3), ("semantic", 2), ("hybrid", 3), ("similar", 2)]


def server_processes(pid: int) -> list[int]:
    """The server's process and those it forked (--workers), recursively."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="utf-8") as children:
            return [pid] + [p for child in children.read().split() for p in server_processes(int(child))]
    except FileNotFoundError:  # (gone meanwhile)
        return []


def server_memory(pid: int) -> dict[str, float]:
    """The server's processes' resident memory now: RSS, and PSS (shared
    pages divided among the processes sharing them), summed, MB."""
    found = {"Rss": 0.0, "Pss": 0.0}
    for process in server_processes(pid):
        with open(f"/proc/{process}/smaps_rollup", encoding="utf-8") as rollup:
            for line in rollup:
                name, _, value = line.partition(":")
                if name in found:
                    found[name] += int(value.split()[0]) / 1024
    return found


def server_cpu_seconds(pid: int) -> float:
    """The server's processes' user and system CPU time so far (/proc/PID/stat)."""
    total = 0
    for process in server_processes(pid):
        with open(f"/proc/{process}/stat", encoding="utf-8") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request_path(kind: str, rng: random.Random, story_ids: list[str], query: Queries) -> str:
    if kind == "similar":
        if rng.random() < 0.5:
            return f"/api/similar/{rng.choice(story_ids)}?k=10"
        return "/api/similar?" + urlencode({"text": query(rng), "k": 10})
    return "/api/search?" + urlencode({"q": query(rng), "mode": kind, "k": 10, "page": 1})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path("var/index"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--kinds", default=",".join(kind for kind, _ in MIX),
                        help="the kinds of request to send, in their usual proportions (default: all)")
    parser.add_argument("--threads", type=int, help="the server's model threads (default: the setting's)")
    parser.add_argument("--repeats", action="store_true", help="draw queries from about 400, repeating")
    parser.add_argument("--workers", type=int, help="the server's processes (default: the setting's)")
    args = parser.parse_args()
    query = Queries(args.repeats)
    chosen = set(args.kinds.split(","))
    if not chosen or not chosen <= {kind for kind, _ in MIX}:
        parser.error(f"--kinds: a comma-separated choice of {', '.join(kind for kind, _ in MIX)}")
    print(describe())
    port = free_port()
    # The server's output goes to a file: a pipe nobody reads fills up with
    # waitress's queue warnings and then blocks the whole server.
    server_log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    server = subprocess.Popen([sys.executable, "-m", "storysearch", "serve", "--index", str(args.index),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=server_log, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "HF_HUB_OFFLINE": "1",
                                   **({"STORYSEARCH_MODEL_THREADS": str(args.threads)} if args.threads else {}),
                                   **({"STORYSEARCH_WORKERS": str(args.workers)} if args.workers is not None else {})})
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/search?q=%E4%B9%A1%E8%B4%A4&mode=keyword")
                first = json.loads(conn.getresponse().read())
                break
            except (OSError, ValueError):
                if server.poll() is not None or time.monotonic() > deadline:
                    server_log.seek(0)
                    raise SystemExit("the server did not start:\n" + server_log.read())
                time.sleep(0.5)
        conn.request("GET", "/api/search?" + urlencode({"q": "社区", "mode": "keyword", "k": 100}))
        story_ids = [hit["id"] for hit in json.loads(conn.getresponse().read())["hits"]] or [first["hits"][0]["id"]]
        conn.close()

        latencies: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds
        count = [0]

        def client(seed: int) -> None:
            rng = random.Random(seed)
            kinds = [kind for kind, weight in MIX if kind in chosen for _ in range(weight)]
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            while time.monotonic() < stop_at:
                with lock:
                    if count[0] >= args.max_requests:
                        return
                    count[0] += 1
                kind = rng.choice(kinds)
                path = request_path(kind, rng, story_ids, query)
                started = time.perf_counter()
                try:
                    connection.request("GET", path)
                    response = connection.getresponse()
                    body = response.read()
                    ok = response.status == 200 and json.loads(body)
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    ok = False
                    body = repr(exc).encode()
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies[kind].append(elapsed)
                    if not ok:
                        errors.append(f"{path}: {body[:200]!r}")

        started, own_cpu, server_cpu = time.perf_counter(), time.process_time(), server_cpu_seconds(server.pid)
        machine = machine_cpu()
        threads = [threading.Thread(target=client, args=(seed,)) for seed in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        cores = {"server": (server_cpu_seconds(server.pid) - server_cpu) / wall,
                 "clients": (time.process_time() - own_cpu) / wall}
        machine = cores_used(machine, machine_cpu(), wall)
        memory = server_memory(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    server_log.seek(0)
    queued = sum("Task queue depth" in line for line in server_log)
    total = sum(len(v) for v in latencies.values())
    everything = [ms for values in latencies.values() for ms in values]
    workers = (args.workers if args.workers is not None else settings.current().workers) or os.cpu_count() or 1
    server_kind = (f"gunicorn, {workers} processes of {THREADS} threads" if workers > 1
                   else f"waitress, {THREADS} threads")
    print(f"{args.clients} clients for {wall:.1f} s against storysearch serve ({server_kind}, "
          f"model threads {args.threads or 'half the cores'}), index {args.index}, "
          f"{'repeating' if args.repeats else 'every'} query {'texts' if args.repeats else 'text new'}")
    print(f"requests {total}, throughput {total / wall:.1f} req/s, errors {len(errors)}, "
          f"waits for a free server thread {queued} (waitress's queue warnings)")
    print(f"CPU in use during the run: server {cores['server']:.2f} cores, these clients {cores['clients']:.2f} "
          f"cores, of {os.cpu_count()}; the machine: other work {machine['user'] + machine['nice'] + machine['system'] - cores['server'] - cores['clients']:.2f}, "
          f"idle {machine['idle']:.2f}, taken by the hypervisor (steal) {machine['steal']:.2f} cores")
    print(f"server memory after the run: RSS {memory['Rss']:,.0f} MB, PSS {memory['Pss']:,.0f} MB "
          f"(summed over its processes; PSS counts a page shared by n of them 1/n in each)")
    print(f"{'all':>9}: p50 {percentile(everything, 50):7.1f} ms  p95 {percentile(everything, 95):7.1f} ms  "
          f"p99 {percentile(everything, 99):7.1f} ms")
    for kind, values in sorted(latencies.items()):
        print(f"{kind:>9}: p50 {percentile(values, 50):7.1f} ms  p95 {percentile(values, 95):7.1f} ms  "
              f"p99 {percentile(values, 99):7.1f} ms  ({len(values)} requests)")
    for line in errors[:10]:
        print("error:", line)
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
