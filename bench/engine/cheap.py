"""Section 1: the per-call cost of cheap calls (Google Benchmark), inline and on the pool, both
backends, against the direct system call."""

import json
import os
import statistics
import subprocess

from common.proc import log, sh
from common.stats import fmt, summary
from .config import BIN, BUILD, TMPFS_DIR
from .measure import plot


def run_cheap_calls(quick):
    log("cheap calls: Google Benchmark, 5 calls x (direct, inline, pool) x (uring, threads)")
    out = os.path.join(BUILD, "cheap_calls.json")
    reps = 1 if quick else 5
    min_time = 0.01 if quick else 0.2
    env = dict(os.environ, RINGKIT_BENCH_DIR=os.path.join(TMPFS_DIR, "cheap"))
    sh([os.path.join(BIN, "cheap_calls_bench"), f"--benchmark_repetitions={reps}",
        f"--benchmark_min_time={min_time}", "--benchmark_format=json",
        "--benchmark_enable_random_interleaving=true",
        f"--benchmark_out={out}", "--benchmark_out_format=json"],
       env=env, stdout=subprocess.DEVNULL)
    with open(out) as f:
        data = json.load(f)
    runs = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        scale = {"ns": 1, "us": 1e3, "ms": 1e6}[b.get("time_unit", "ns")]
        name = b["run_name"].removesuffix("/real_time")  # UseRealTime() adds it
        r = runs.setdefault(name, {"real": [], "cpu": []})
        r["real"].append(b["real_time"] * scale)
        r["cpu"].append(b["cpu_time"] * scale)
    return runs, reps


def report_cheap_calls(runs, reps):
    md = ["## 1. Per-call cost of cheap calls", "",
          "One call awaited in a loop inside one coroutine (`co_await fs::fchmodat(...)` and so on) "
          "on an Executor with `cheap_calls=inline` or `cheap_calls=pool` (statx with "
          "`metadata_ops=cheap`), on both backends, against the direct system call. Files on tmpfs. "
          "`fstat` is `statx(fd, \"\", AT_EMPTY_PATH)`. Wall-clock ns per call "
          f"(Google Benchmark, {reps} repetitions); the CPU column is the calling thread's CPU time "
          "per call, which background load disturbs less (for the pool it misses the workers' time); "
          "the last column is that CPU time minus the direct call's, i.e. what the engine adds. "
          "Ratios are medians over the direct call's median.", ""]
    rows_plot = []
    ratios = {}
    deltas = {}
    if "getppid/direct" in runs:
        lo, med, hi = summary(runs["getppid/direct"]["real"])
        md += [f"Bare system call for scale: getppid {fmt(med)} ns (min {fmt(lo)}, max {fmt(hi)}).", ""]
    md += ["| call | method | min ns | median ns | max ns | median CPU ns | ratio (wall) | ratio (CPU) | CPU ns over direct |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for call in ["fchmodat", "utimensat", "readlinkat", "statx", "fstat"]:
        base = runs.get(f"{call}/direct")
        if not base:
            continue
        _, bmed, _ = summary(base["real"])
        bcpu = statistics.median(base["cpu"])
        for method in ["direct", "inline/uring", "inline/threads", "pool/uring", "pool/threads"]:
            r = runs.get(f"{call}/{method}")
            if not r:
                md.append(f"| {call} | {method} | – | – | – | – | failed | |")
                continue
            lo, med, hi = summary(r["real"])
            cpu = statistics.median(r["cpu"])
            ratios[(call, method)] = (med / bmed, cpu / bcpu)
            deltas[(call, method)] = cpu - bcpu
            bold = "**" if method.startswith("inline") else ""
            md.append(f"| {call} | {method} | {fmt(lo)} | {fmt(med)} | {fmt(hi)} | {fmt(cpu)} | "
                      f"{bold}{med / bmed:.2f}{bold} | {cpu / bcpu:.2f} | {cpu - bcpu:+.0f} |")
            rows_plot.append((f"{call} {method}", lo, med, hi))
    png = plot("cheap_calls", "Cheap calls: ns per call (median, min-max), log scale",
               "ns per call", rows_plot, logscale=True)
    if png:
        md += ["", f"![cheap calls]({png})"]

    # The decision, from the numbers.
    inl = [v for (c, m), v in ratios.items() if m.startswith("inline")]
    pool = [v for (c, m), v in ratios.items() if m.startswith("pool")]
    md += ["", "### Decision", ""]
    if inl and pool:
        within = sum(1 for w, c in inl if w <= 1.10)
        within_cpu = sum(1 for w, c in inl if c <= 1.10)
        md.append(f"- Inline through the engine costs {min(w for w, _ in inl):.2f}–"
                  f"{max(w for w, _ in inl):.2f}x the direct call in wall time (median "
                  f"{statistics.median(w for w, _ in inl):.2f}x) and {min(c for _, c in inl):.2f}–"
                  f"{max(c for _, c in inl):.2f}x in CPU time (median "
                  f"{statistics.median(c for _, c in inl):.2f}x). Within the 10% budget: "
                  f"{within} of {len(inl)} call/backend pairs by wall time, {within_cpu} of "
                  f"{len(inl)} by CPU time.")
        md.append(f"- The blocking pool costs {min(w for w, _ in pool):.1f}–{max(w for w, _ in pool):.1f}x "
                  f"the direct call (median {statistics.median(w for w, _ in pool):.1f}x).")
        over = [deltas[k] for k in deltas if k[1].startswith("inline")]
        md.append(f"- What the engine adds to an inline call: {min(over):+.0f} to {max(over):+.0f} ns "
                  f"of CPU per call (median {statistics.median(over):+.0f} ns).")
        if within_cpu == len(inl) or within == len(inl):
            md.append("- The requirement (inline within 10% of the direct call) is **met** "
                      + ("by wall time and CPU time." if within == len(inl) and within_cpu == len(inl)
                         else "by CPU time; wall time is disturbed by the background load."
                         if within_cpu == len(inl) else "by wall time."))
        else:
            worst = max((k for k in ratios if k[1].startswith("inline")), key=lambda k: ratios[k][1])
            md.append(f"- The requirement (inline within 10% of the direct call) is **not met** for "
                      f"every call: worst is {worst[0]} {worst[1]} at {ratios[worst][1]:.2f}x CPU "
                      f"({deltas[worst]:+.0f} ns). See \"Engine notes\" at the end for where the extra "
                      f"time goes.")
        better = statistics.median(w for w, _ in inl) < statistics.median(w for w, _ in pool)
        md.append("- **Default supported: " + ("`cheap_calls=inline` (RINGKIT_CHEAP_CALLS_SYNC=ON)" if
                  better else "`cheap_calls=pool`") + "** on local file systems; the pool (or "
                  "`auto`) only where a call can block for long (network/FUSE), since on tmpfs the "
                  "pool's hand-off costs several times the call itself.")
    return md, ratios
