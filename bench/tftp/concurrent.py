"""Section 2: many concurrent downloads (`ringtftp bench`) against a fresh server per run."""

import json
import os
import resource
import statistics

from common.proc import log
from common.stats import NAN, summary
from .clients import ClientCpu, run_client
from .config import BUILD, CLIENT, PORT_RANGE, SERVERS
from .plots import fmt, plot_groups
from .procfs import rss_kib, status_kib, udp_rcvbuf_errors
from .rounds import FAILURES, rounds_loop
from .servers import MemorySampler, Server
from .single import human


def run_concurrent(quick, budget, section, clients, windowsize, fname, size, xxh3, runs_wanted, runs_min,
                   servers=SERVERS):
    """`ringtftp bench` with `clients` concurrent downloads against a fresh server per run."""
    res = {s: [] for s in servers}
    cap = 120 if quick else (240 if clients > 5000 else 150)

    def one_round(r):
        order = servers[r % len(servers):] + servers[:r % len(servers)]
        for s in order:
            srv = Server(s, maxthread=clients + 100).start()
            idle = rss_kib(srv.pid())
            mem = MemorySampler(srv, period=1.0)
            mem.sample()
            idle_pss = mem.peak_pss if s == "tftpd-hpa" else idle
            mem.peak_rss = mem.peak_pss = 0
            cg_idle = srv.cg.mem_kib()
            srv.cg.reset_peak()
            c0 = srv.cpu()
            drops0 = udp_rcvbuf_errors()
            ctr0 = srv.counters()
            argv = [CLIENT, "bench", srv.host(), fname, "--clients", str(clients), "--blksize", "1428",
                    "--expect-size", str(size), "--expect-xxh3", xxh3, "--json", "-q"]
            if windowsize > 1:
                argv += ["--windowsize", str(windowsize)]
            mem.start()
            k0 = ClientCpu.now()
            rc, wall, _, out, err = run_client(argv, cap)
            kcpu = ClientCpu.now() - k0
            mem.stop()
            srv.wait_children_gone()
            c1 = srv.cpu()
            ctr1 = srv.counters()
            hwm = status_kib(srv.pid(), "VmHWM") or 0
            cg_peak = srv.cg.peak_kib()
            drops = udp_rcvbuf_errors() - drops0
            srv.stop()
            rec = {"server": s, "rc": rc, "wall": wall, "client_cpu": kcpu, "server_cpu": c1 - c0,
                   "idle_kib": idle, "idle_pss_kib": idle_pss, "hwm_kib": hwm,
                   "peak_rss_kib": mem.peak_rss, "peak_pss_kib": mem.peak_pss,
                   "cg_idle_kib": cg_idle, "cg_peak_kib": cg_peak,
                   "peak_active": mem.peak_active, "peak_fds": mem.peak_fds, "rcvbuf_drops": drops,
                   "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
                   "server_retransmits": ctr1.get("ringtftpd_retransmits_total", 0) - ctr0.get("ringtftpd_retransmits_total", 0) if ctr0 else None,
                   "server_timeouts": ctr1.get("ringtftpd_timeouts_total", 0) - ctr0.get("ringtftpd_timeouts_total", 0) if ctr0 else None,
                   "server_failed": ctr1.get("ringtftpd_transfers_failed_total", 0) - ctr0.get("ringtftpd_transfers_failed_total", 0) if ctr0 else None}
            try:
                rec["bench"] = json.loads(out)
            except ValueError:
                rec["bench"] = None
            with open(os.path.join(BUILD, "tftp-concurrent-runs.jsonl"), "a") as f:
                f.write(json.dumps({"clients": clients, "windowsize": windowsize, **rec}) + "\n")
            res[s].append(rec)
            b = rec["bench"]
            if rc != 0 or not b or b.get("failed"):
                what = ("capped at %d s" % cap if rc is None else
                        f"exit {rc}; {b.get('completed') if b else '?'} of {clients} verified; "
                        f"first failures {(b or {}).get('first_failures', [])[:3]}; {err.strip()[-200:]}")
                FAILURES.append((section, (clients, windowsize, s), what, " ".join(argv)))
                log(f"FAILED {section} {s}: {what}")
            log(f"{section} {s}: {wall:.1f} s, {b and b.get('mb_per_s', 0):.1f} MB/s, "
                f"peak active {mem.peak_active}, server CPU {c1 - c0:.1f} s")

    runs, note = rounds_loop(section, budget, runs_wanted, runs_min, one_round)
    return res, runs, note


def conc_metrics(rec, clients, size):
    """Per-run figures; None where the run gave none."""
    b = rec["bench"] or {}
    completed = b.get("completed", 0) if rec["rc"] is not None else 0
    kind = rec["server"]
    peak = rec["peak_pss_kib"] if kind == "tftpd-hpa" else rec["hwm_kib"]
    idle = rec["idle_pss_kib"] if kind == "tftpd-hpa" else rec["idle_kib"]
    active = rec["peak_active"] or clients
    cm = b.get("completion_ms", {})
    return {
        "rate": completed / clients,
        "mbps": b.get("mb_per_s") if rec["rc"] is not None and completed else None,
        "p50": cm.get("p50", NAN) / 1000, "p99": cm.get("p99", NAN) / 1000, "max": cm.get("max", NAN) / 1000,
        "peak_mib": peak / 1024, "per_transfer_kib": (peak - idle) / min(active, clients),
        "cg_peak_mib": rec["cg_peak_kib"] / 1024 if rec.get("cg_peak_kib") is not None else None,
        "cg_per_transfer_kib": (rec["cg_peak_kib"] - rec["cg_idle_kib"]) / min(active, clients)
        if rec.get("cg_peak_kib") is not None and rec.get("cg_idle_kib") is not None else None,
        "rss_sum_mib": rec["peak_rss_kib"] / 1024,
        "cpu": rec["server_cpu"], "client_cpu": rec["client_cpu"], "active": rec["peak_active"],
        "fds": rec.get("peak_fds") or None,
        "drops": rec["rcvbuf_drops"], "retrans": b.get("retransmits"), "timeouts": b.get("timeouts"),
        "srv_retrans": rec.get("server_retransmits"), "wall": rec["wall"],
        "busy": (rec["server_cpu"] + rec["client_cpu"]) / (os.cpu_count() * rec["wall"]),
    }




def med_of(rows, key):
    v = [r[key] for r in rows if r[key] is not None and r[key] == r[key]]
    return summary(v) if v else (NAN, NAN, NAN)


def report_concurrent(all_res, size):
    """all_res: [(clients, windowsize, res, runs, note)]."""
    md = ["## 2. Many concurrent downloads of %s" % human(size), "",
          "`ringtftp bench HOST file --clients N --blksize 1428 [--windowsize W] --expect-size S "
          "--expect-xxh3 H`: N downloads started at once from one process (2 threads, one ring "
          "each), each verified by size and XXH3-64; throughput = N x size / wall time of the "
          "whole bench. A fresh server per run: idle memory is read after one probe download, the "
          "peak during the run. **ringtftpd, atftpd**: one process; peak = VmHWM (exact), growth "
          "per transfer = (VmHWM - idle VmRSS) / peak active transfers (ringtftpd's "
          "`ringtftpd_active_transfers` counter, atftpd's thread count - 1, sampled every "
          "second). **tftpd-hpa** forks a process per transfer: its memory is sampled every "
          "second over the parent and all its children (/proc/PID/task/*/children) as the sum of "
          "PSS (shared pages divided among the processes mapping them; the mean PSS of up to 40 "
          "children read per sample times the number of children) and, as an upper bound, the "
          "sum of RSS; growth per transfer = (peak PSS sum - idle PSS) / peak children. CPU s = "
          "the server's cpuacct cgroup usage before/after the run (every process it forked, "
          "those that exited included; tftpd-hpa's children are waited for first). **cgroup "
          "peak**: memory.max_usage_in_bytes of the server's own memory cgroup (v1), reset after "
          "the idle reading: what the kernel charged to the server, its processes' pages and "
          "kernel memory (page tables, stacks) alike; per transfer = (peak - idle) / peak active. atftpd's thread limit (`--maxthread`, "
          "default 100) is raised to N + 100 for these runs; ringtftpd's limit per client "
          "address is lifted (every client here is 127.0.0.1). ringtftpd and tftpd-hpa take "
          f"their transfer ports from `-R {PORT_RANGE}`, below the ephemeral range the client's "
          "10 000 sockets use (Linux refuses bind(port 0) once about half of that range is "
          "taken; a real server's clients are other machines); atftpd has no such option. Peak "
          "fds = open descriptors of the server process (sampled; RLIMIT_NOFILE is "
          f"{resource.getrlimit(resource.RLIMIT_NOFILE)[1]}, the hard limit, which cannot be "
          "raised here). UDP drops = the kernel's RcvbufErrors (all sockets, client's included) "
          "during the run. CPU busy = (server CPU + client CPU) / (vCPUs x wall time): near 100% "
          "the two processes together are bound by this machine's CPUs, and a server can only "
          "gain by costing less than the one it is compared with.", ""]
    headline = {}
    for clients, w, res, runs, note in all_res:
        md += [f"### {clients} clients, blksize 1428, windowsize {w}" +
               (" (asked; tftpd-hpa runs windowsize 1)" if w > 1 and "tftpd-hpa" in res else ""), "",
               f"{runs} runs per server" + (f" ({note})" if note else "") + ".", ""]
        md += ["| server | runs | verified | MB/s min / **median** / max | completion p50 / p99 / max s (median) | "
               "server peak MiB | per active transfer KiB | cgroup peak MiB | cgroup per transfer KiB | "
               "peak active | peak fds | server CPU s | client CPU s | CPU busy | client retransmits / timeouts | UDP drops |",
               "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
        for s, recs in res.items():
            rows = [conc_metrics(r, clients, size) for r in recs]
            if not rows:
                continue
            rate = statistics.median(r["rate"] for r in rows)
            lo, m, hi = med_of(rows, "mbps")
            headline[(clients, w, s)] = {"mbps": m, "rate": min(r["rate"] for r in rows),
                                         "per": med_of(rows, "per_transfer_kib")[1],
                                         "cg_per": med_of(rows, "cg_per_transfer_kib")[1],
                                         "peak": med_of(rows, "peak_mib")[1], "cpu": med_of(rows, "cpu")[1],
                                         "p99": med_of(rows, "p99")[1], "rows": rows,
                                         "client_cpu": med_of(rows, "client_cpu")[1],
                                         "busy": med_of(rows, "busy")[1], "wall": med_of(rows, "wall")[1]}
            peak = med_of(rows, "peak_mib")[1]
            rss_note = f" (RSS sum {med_of(rows, 'rss_sum_mib')[1]:.0f})" if s == "tftpd-hpa" else ""
            md.append(
                f"| {s} | {len(rows)} | {100 * min(r['rate'] for r in rows):.2f}% (min) | {fmt(lo)} / **{fmt(m)}** / {fmt(hi)} | "
                f"{fmt(med_of(rows, 'p50')[1])} / {fmt(med_of(rows, 'p99')[1])} / {fmt(med_of(rows, 'max')[1])} | "
                f"{peak:.1f}{rss_note} | {fmt(med_of(rows, 'per_transfer_kib')[1])} | "
                f"{fmt(med_of(rows, 'cg_peak_mib')[1])} | {fmt(med_of(rows, 'cg_per_transfer_kib')[1])} | "
                f"{fmt(med_of(rows, 'active')[1])} | {fmt(med_of(rows, 'fds')[1])} | {fmt(med_of(rows, 'cpu')[1])} | {fmt(med_of(rows, 'client_cpu')[1])} | "
                f"{100 * med_of(rows, 'busy')[1]:.0f}% | "
                f"{fmt(med_of(rows, 'retrans')[1])} / {fmt(med_of(rows, 'timeouts')[1])} | {fmt(med_of(rows, 'drops')[1])} |")
        ring = headline.get((clients, w, "ringtftpd"))
        peers = [(s, headline[(clients, w, s)]["mbps"]) for s in res if s != "ringtftpd" and (clients, w, s) in headline]
        if ring and peers:
            md += ["", "Ratios of medians: " + ", ".join(
                f"ringtftpd / {s} = {ring['mbps'] / v:.2f}x throughput" for s, v in peers if v == v and v) + "."]
        srv_r = med_of([conc_metrics(r, clients, size) for r in res.get("ringtftpd", [])], "srv_retrans")[1]
        if srv_r == srv_r:
            md += [f"ringtftpd's own counters: {srv_r:.0f} DATA retransmits per run (median)."]
        md += [""]
    groups = [f"{c} clients ws{w}" for c, w, *_ in all_res]
    vals = {(f"{c} clients ws{w}", s): med_of([conc_metrics(r, c, size) for r in res[s]], "mbps")
            for c, w, res, *_ in all_res for s in res if res[s]}
    img = plot_groups("tftp-concurrent", f"Concurrent {human(size)} downloads, blksize 1428: aggregate throughput",
                      "MB/s", groups, SERVERS, vals)
    if img:
        md += [f"![concurrent throughput]({img})", ""]
    vals = {(f"{c} clients ws{w}", s): med_of([conc_metrics(r, c, size) for r in res[s]], "peak_mib")
            for c, w, res, *_ in all_res for s in res if res[s]}
    img = plot_groups("tftp-concurrent-memory", "Server peak memory (MiB; tftpd-hpa: PSS summed over its processes)",
                      "MiB", groups, SERVERS, vals, logscale=True)
    if img:
        md += [f"![concurrent memory]({img})", ""]
    vals = {(f"{c} clients ws{w}", s): med_of([conc_metrics(r, c, size) for r in res[s]], "p99")
            for c, w, res, *_ in all_res for s in res if res[s]}
    img = plot_groups("tftp-concurrent-p99", "Completion time p99 (s)", "s", groups, SERVERS, vals)
    if img:
        md += [f"![concurrent p99]({img})", ""]
    return md, headline
