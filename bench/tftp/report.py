"""Writes docs/benchmarks-tftp.md from a run's results: targets, summary, failures, the three
sections and, after a full run, the notes on what bounds the numbers (notes.md beside this file)."""

import os
import platform
import statistics
import subprocess

from common.proc import gxx_version, log
from common.report import cpu_model, mem_gib, prose, write_lines
from common.stats import NAN, load_range
from .concurrent import med_of, report_concurrent
from .config import ATFTPD, HPA, MB, SERVERS, WORK
from .loss import report_loss
from .plots import fmt
from .rounds import CPU_SINGLE, FAILURES
from .single import report_single

NOTES_MD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")


def render(R, out):
    """Writes the report from the results of a run (R, as saved in tftp-results.pickle)."""
    FAILURES[:] = R["failures"]
    files = R["files"]
    sections, summary_lines, targets = [], [], []
    single_med = conc_head = loss_med = lossless = None
    if "single" in R:
        res, runs, note, capped = R["single"]
        md, single_med = report_single(res, runs, note, files["file-big"], capped)
        sections += md
    if "concurrent" in R:
        md, conc_head = report_concurrent(R["concurrent"], 1 << 20)
        sections += md
    if "loss" in R:
        res, runs, note = R["loss"]
        md, loss_med, lossless = report_loss(res, runs, note, ("file-big", files["file-big"]),
                                             ("file-small", files["file-small"]))
        sections += md
    elapsed, loads, started, quick = R["elapsed"], R["loads"], R["started"], R["quick"]

    # Targets
    if single_med:
        r = single_med.get((1428, 64, "ringtftpd", "ringtftp"))
        at = single_med.get((1428, 64, "atftpd", "ringtftp"))
        if r and at:
            met = r >= 2 * at
            cr = CPU_SINGLE.get((1428, 64, "ringtftpd", "ringtftp"))
            ca = CPU_SINGLE.get((1428, 64, "atftpd", "ringtftp"))
            bound = ""
            if cr and ca:
                bound = (f"per download (medians): ringtftpd wall {cr[0]:.2f} s, server CPU {cr[1]:.2f} s, "
                         f"client CPU {cr[2]:.2f} s; atftpd wall {ca[0]:.2f} s, server CPU {ca[1]:.2f} s, "
                         f"client CPU {ca[2]:.2f} s. The client's CPU alone allows at most "
                         f"{files['file-big'] / MB / cr[2]:.0f} MB/s = {files['file-big'] / MB / cr[2] / at:.2f}x atftpd")
            targets.append(("(1) blksize 1428 / windowsize 64: ≥ 2x atftpd, same client",
                            f"ringtftpd {fmt(r)} MB/s, atftpd {fmt(at)} MB/s: **{r / at:.2f}x**",
                            "met" if met else "**missed**", bound))
        summary_lines.append("- One download: " + "; ".join(
            f"{b}/{w}: ringtftpd {fmt(single_med.get((b, w, 'ringtftpd', 'ringtftp')))}, atftpd "
            f"{fmt(single_med.get((b, w, 'atftpd', 'ringtftp')))}"
            + (f", tftpd-hpa {fmt(single_med.get((b, w, 'tftpd-hpa', 'ringtftp')))}" if w == 1 else "")
            for b, w in [(512, 1), (1428, 1), (1428, 64), (65464, 64)]) + " MB/s (medians).")
    if conc_head:
        big_n = max(c for c, w, s in conc_head)
        ring = conc_head.get((big_n, 1, "ringtftpd"))
        peers = {s: v for (c, w, s), v in conc_head.items() if c == big_n and w == 1 and s != "ringtftpd"}
        if ring:
            best_peer = max(peers.items(), key=lambda kv: kv[1]["mbps"] if kv[1]["mbps"] == kv[1]["mbps"] else 0,
                            default=(None, None))
            fds = med_of(ring["rows"], "fds")[1]
            targets.append((f"(2a) every one of {big_n} concurrent transfers completes",
                            f"{100 * ring['rate']:.2f}% verified (worst run)",
                            "met" if ring["rate"] == 1.0 else "**missed**",
                            "" if ring["rate"] == 1.0 else
                            f"ringtftpd peaked at {fmt(fds)} open descriptors (a socket and the file for "
                            f"each transfer) against RLIMIT_NOFILE {R['fd_limit']}; see Failed runs"))
            if best_peer[0]:
                bp = best_peer[1]["mbps"]
                ratio = ring["mbps"] / bp if bp else NAN
                pv = best_peer[1]
                ceiling = (pv["cpu"] + pv["client_cpu"]) / ring["client_cpu"] if ring["client_cpu"] else NAN
                targets.append((f"(2b) {big_n} clients: aggregate ≥ 2x the best peer",
                                f"ringtftpd {fmt(ring['mbps'])} MB/s, best peer {best_peer[0]} {fmt(bp)} MB/s: **{ratio:.2f}x**",
                                "met" if ratio >= 2 else "**missed**",
                                f"CPU s per run (medians): ringtftpd {fmt(ring['cpu'])} + client {fmt(ring['client_cpu'])} "
                                f"in {fmt(ring['wall'])} s (CPU busy {100 * ring['busy']:.0f}%); {best_peer[0]} "
                                f"{fmt(pv['cpu'])} + client {fmt(pv['client_cpu'])} in {fmt(pv['wall'])} s "
                                f"(busy {100 * pv['busy']:.0f}%). If both were CPU-bound, even a server costing "
                                f"nothing would reach {ceiling:.2f}x ({best_peer[0]}'s total CPU over the client's "
                                f"CPU with ringtftpd)"))
            targets.append((f"(2c) {big_n} clients: server memory ≤ 64 KiB per active transfer",
                            f"{fmt(ring['per'])} KiB per transfer (VmHWM {ring['peak']:.1f} MiB); "
                            f"cgroup {fmt(ring['cg_per'])} KiB",
                            "met" if ring["per"] <= 64 else "**missed**", ""))
        for (c, w, s), v in sorted(conc_head.items()):
            if s == "ringtftpd":
                summary_lines.append(
                    f"- {c} clients ws{w}: ringtftpd {fmt(v['mbps'])} MB/s, " + ", ".join(
                        f"{p} {fmt(conc_head[(c, w, p)]['mbps'])}" for p in SERVERS[1:] if (c, w, p) in conc_head)
                    + f" MB/s; ringtftpd peak {v['peak']:.1f} MiB, {fmt(v['per'])} KiB per transfer, "
                      f"{fmt(v['cpu'])} CPU s, p99 {fmt(v['p99'])} s.")
    if loss_med and lossless:
        r0 = lossless.get("ringtftpd")
        r1 = loss_med.get((1, "ringtftpd"))
        r5 = loss_med.get((5, "ringtftpd"))
        if r0 and r1:
            targets.append(("(3) 1% loss: ≥ 50% of lossless throughput",
                            f"ringtftpd {fmt(r1)} of {fmt(r0)} MB/s: **{100 * r1 / r0:.0f}%**"
                            + (f" (5%: {fmt(r5)} MB/s, {100 * r5 / r0:.0f}%)" if r5 else ""),
                            "met" if r1 >= 0.5 * r0 else "**missed**",
                            "" if r1 >= 0.5 * r0 else
                            "windowsize 64 with go-back-N resends (RFC 7440): at 1% each way a window of 64 "
                            "DATA and its ACK all arrive only 0.99^65 = 52% of the time, and each loss resends "
                            "the rest of the window, or waits a timeout (floor 2 ms) when the window's tail "
                            "or its ACK is lost; see the notes at the end (arithmetic, not profiled)"))

    model, mem = cpu_model(), mem_gib()
    head = ["# TFTP benchmarks: ringtftpd, tftpd-hpa, atftpd", "",
            "Written by `bench/run_tftp.py`" + (" **--quick (smoke test: small files, few clients, "
                                                 "1 run; not for decisions)**" if quick else "") + ". "
            "Other benchmarks: [benchmarks.md](benchmarks.md).", ""]
    if max(loads) > 1.5 or statistics.median(loads) > 1.0:
        head += [f"> **Noisy run.** The 1-minute load average during this run was min {min(loads):.2f}, "
                 f"median {statistics.median(loads):.2f}, max {max(loads):.2f} (sampled every 5 s) on "
                 f"{os.cpu_count()} vCPUs. The benchmark itself (server + client) keeps about 2 "
                 f"runnable, so anything well above 2 is other work sharing the CPUs: absolute numbers "
                 f"are pessimistic, and a forking server (one process per transfer) gains CPU share "
                 f"over a fixed number of threads under contention. tftpd-hpa's process per transfer "
                 f"also counts in the load average itself: the highest samples fall in its 1 000- and "
                 f"10 000-client runs. Re-run on a quiet machine before relying on a close call.", ""]
    head += ["| machine | |", "|---|---|",
             f"| date (UTC) | {started:%Y-%m-%d %H:%M} |",
             f"| CPU | {os.cpu_count()} × {model} |",
             f"| memory | {mem:.1f} GiB |",
             f"| kernel | {platform.release()} |",
             f"| network | loopback; loss (section 3) injected by the client |",
             f"| files | {WORK} (tmpfs), written by the client to tmpfs |",
             f"| load average (1 min) during the run | {load_range(loads)} |",
             f"| free page reporting (virtio-balloon) | {R.get('page_reporting', 'not recorded')} |",
             f"| run time | {elapsed / 60:.1f} min ({'quick' if quick else 'full'} mode) |",
             f"| source | {R['source']} |",
             f"| build | Release (-O3), g++ "
             f"{gxx_version()}; "
             f"ringtftpd defaults (2 workers = one per CPU, io_uring) except the limits and logging noted in section 2 |",
             f"| peers | {tool_version([HPA, '-V'])} (`in.tftpd -L -a ADDR -u root -s DIR`); "
             f"{tool_version([ATFTPD, '-V'])} (`--daemon --no-fork --user root.root --logfile /dev/null "
             f"--maxthread N`); client {tool_version(['curl', '--version'])[:11]} for the curl rows |",
             f"| RLIMIT_NOFILE | {R['fd_limit']} (the hard limit; not raisable here) for servers and clients |",
             "",
             "Each point is repeated, rounds interleaving servers and points so that background load "
             "spreads over all of them, and reported as min / median / max; ratios compare medians. "
             "Re-run: `bench/run_tftp.py` (full, about 30 minutes) or `bench/run_tftp.py --quick`. "
             "Every run of every `ringtftp bench` is kept in build-bench-tftp/tftp-concurrent-runs.jsonl.",
             ""]
    if targets:
        head += ["## Targets", "", "| target | measured (medians) | | what bounds it |", "|---|---|---|---|"]
        head += [f"| {t} | {m} | {v} | {b} |" for t, m, v, b in targets] + [""]
    if summary_lines:
        head += ["## Summary", ""] + summary_lines + [""]
    if FAILURES:
        head += ["## Failed runs", "", "| section | point | what happened | command |", "|---|---|---|---|"]
        head += [f"| {s} | {p} | {w} | `{c}` |" for s, p, w, c in FAILURES[:30]] + [""]
    notes = [] if quick else prose(NOTES_MD)
    write_lines(out, head + sections + notes)
    log(f"wrote {out} ({elapsed / 60:.1f} min, load average max {max(loads):.2f})")


def tool_version(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    return ((p.stdout + p.stderr).strip().splitlines() or ["?"])[0]
