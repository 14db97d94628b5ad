"""What every benchmark prints first: the machine and the versions measured."""
from __future__ import annotations

import os
import platform
from importlib import metadata

PACKAGES = ("storysearch", "torch", "sentence-transformers", "transformers", "faiss-cpu", "whoosh3", "rjieba", "opencc")


def describe() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return (f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}\n"
            f"python {platform.python_version()}; " + "; ".join(versions))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def ratio(value: float | None) -> str:
    """A precision or recall to three places; n/a where there was nothing to count."""
    return "  n/a" if value is None else f"{value:.3f}"


def machine_cpu() -> dict[str, float]:
    """The whole machine's CPU time so far, seconds, by kind (/proc/stat):
    ``steal`` is what the hypervisor gave other machines while this one had
    work (a virtual machine's cores are not all its own)."""
    with open("/proc/stat", encoding="utf-8") as stat:
        fields = [int(value) for value in stat.readline().split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    return {name: value / tick for name, value in zip(names, fields)}


def cores_used(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """Cores' worth of each kind of CPU time between two ``machine_cpu()`` readings."""
    return {name: (after[name] - before[name]) / seconds for name in before}

