"""The report's sections on system calls per file (strace) and on where the time goes (perf)."""

from .results import FAILURES
from .tables import cell, plot


def strace_section(strace, fs_types):
    if not strace:
        return []
    n = strace["files"]
    md = [f"## Syscalls per copied file (`strace -c -f`, {n:,} files of 1 KiB in {strace['dirs']} "
          "directories, tmpfs)", "",
          "Each method once under `strace -c -f` (every process and thread it starts; for `tar | tar` "
          "both ends of the pipe are traced and summed), initial copy into an empty directory and "
          "then a no-op run over that copy. Calls per file = all system calls of the run / files. "
          "io_uring requests are not system calls: for the uring backend the column *ring ops/file* "
          "counts the requests submitted (tracepoint `io_uring:io_uring_submit_req`, `perf stat`, "
          "a separate run), which the kernel executes inline or on io-wq worker threads. "
          "The %time column is strace's share of the traced time (system time) of that call.", "",
          "| method | case | syscalls/file | ring ops/file | top system calls (calls per file, share of syscall time) |",
          "|---|---|---:|---:|---|"]
    rows = []
    for m, res in strace["methods"].items():
        for case in ("initial", "noop"):
            r = res.get(case)
            if not r:
                md.append(f"| {cell(m)} | {case} | FAILED | | {cell(FAILURES.get(('strace', 'tmpfs', case, m), ''))} |")
                continue
            calls = r["calls"]
            total = sum(c for c, _ in calls.values())
            secs = sum(s for _, s in calls.values()) or 1
            top = sorted(calls.items(), key=lambda kv: -kv[1][0])[:7]
            ring = r.get("ring_ops")
            md.append(f"| {cell(m)} | {case} | {total / n:.2f} | {f'{ring / n:.2f}' if ring is not None else '–'} | "
                      + ", ".join(f"{k} {c / n:.2f} ({s / secs * 100:.0f}%)" for k, (c, s) in top) + " |")
            if case == "initial":
                rows.append((m, total / n, total / n, total / n))
    png = plot("sync-syscalls", f"System calls per copied file ({n} files of 1 KiB, initial copy, strace -c -f)",
               "syscalls per file", rows)
    if png:
        md += ["", f"![syscalls per file]({png})"]
    return md + [""]


def profile_section(profile):
    if not profile:
        return []
    md = ["## Where ringsync's time goes (perf, default settings, small files on tmpfs)", "",
          "`perf stat` and `perf record -F 2000 -g` of `ringsync -a` (uring backend, cheap calls "
          "inline) on the 100-directory tree of small files on tmpfs, outside the timed runs: the "
          "initial copy into an empty directory and a no-op over that copy. *CPUs utilized* = "
          "task-clock / wall time (2.0 would be both vCPUs busy). The flat profile is self time "
          "per thread name (`iou-wrk-*` are io_uring's worker threads) and symbol; kernel symbols "
          "included.", ""]
    for case, p in profile.items():
        st = p["stat"]
        tc = st.get("task-clock")
        md.append(f"### {case}")
        md.append("")
        dur = st.get("duration_time")
        if tc and dur:
            md.append(f"- `perf stat`: wall {dur / 1e9:.2f} s, task-clock {tc:.0f} ms, **CPUs utilized "
                      f"{tc / 1e3 / (dur / 1e9):.2f}**; context switches {st.get('context-switches', 0):.0f}, "
                      f"CPU migrations {st.get('cpu-migrations', 0):.0f}, page faults {st.get('page-faults', 0):.0f}.")
        md += ["", "Samples by thread:", "", "```"] + p["by_comm"] + ["```", ""]
        if p.get("calls"):
            md += [f"Inclusive share of all samples per system call and io_uring operation handler "
                   f"(user space of the main thread, self time: {p.get('user_self', 0):.1f}%):", "",
                   "| share of samples | thread | call |", "|---:|---|---|"]
            md += [f"| {t:.1f}% | {th} | {c} |" for t, th, c in p["calls"]] + [""]
        md += ["Top symbols by self time (≥1.5% of samples):", "", "```"] + p["by_sym"] + ["```", ""]
    return md
