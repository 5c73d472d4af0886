"""Section 1: one large download at every blksize x windowsize, from each server."""

import os
import statistics

from common.stats import summary
from .clients import ClientCpu, client_argv, run_client, same_file
from .config import MB, OUT, SERVERS, SRV, WINDOWED
from common.proc import log
from .plots import fmt, plot_groups
from .rounds import CPU_SINGLE, FAILURES, rounds_loop
from .servers import Server


def single_points(quick):
    blks = [512, 1428, 8192, 65464]
    wins = [1, 16, 64]
    pts = [(b, w, s, "ringtftp") for b in blks for w in wins for s in SERVERS if w == 1 or WINDOWED[s]]
    pts += [(1428, 1, s, "curl") for s in SERVERS]
    return pts



def run_single(quick, budget, fname, size):
    """Every (blksize, windowsize, server, client) point, interleaved by round."""
    servers = {k: Server(k).start() for k in SERVERS}
    pts = single_points(quick)
    res = {p: [] for p in pts}  # point -> [(seconds, server CPU s, client CPU s)]
    capped = {}  # point -> cap: a point that hit its cap once is not run again (a bound is all it gives)
    local = os.path.join(OUT, "single")
    cap = 30 if quick else 60

    def one_round(r):
        order = pts[r % len(pts):] + pts[:r % len(pts)]  # rotate the start: no fixed position
        for p in order:
            if p in capped:
                continue
            b, w, s, client = p
            srv = servers[s]
            argv = client_argv(client, srv.host(), fname, local, b, w)
            c0 = srv.cpu()
            k0 = ClientCpu.now()
            rc, wall, _, out, err = run_client(argv, cap)
            c1 = srv.cpu()
            kcpu = ClientCpu.now() - k0
            ok = rc == 0 and os.path.exists(local) and same_file(local, os.path.join(SRV, fname))
            if ok:
                res[p].append((wall, c1 - c0, kcpu))
            elif rc is None:
                capped[p] = cap
                log(f"single {p}: capped at {cap} s")
            else:
                what = f"exit {rc}: {err.strip()[-200:]}"
                if rc == 0:
                    what = "downloaded file differs from the source"
                FAILURES.append(("single", p, what, " ".join(argv)))
                log(f"FAILED single {p}: {what}")
            if os.path.exists(local):
                os.remove(local)

    runs, note = rounds_loop("single", budget, 1 if quick else 5, 1 if quick else 5, one_round)
    for s in servers.values():
        s.stop()
    return res, runs, note, capped


def report_single(res, runs, note, size, capped):
    md = ["## 1. One download of %s" % human(size), "",
          f"`ringtftp get` (and `curl` at blksize 1428) from each server on loopback, the file on "
          f"tmpfs, written to tmpfs and compared with the source after every run. Seconds are the "
          f"client's wall time from exec to exit; MB/s = 10^6 bytes/s. tftpd-hpa does not "
          f"implement windowsize (RFC 7440): only windowsize 1 is run against it. Server CPU is "
          f"the server's cpuacct cgroup usage across the download, client CPU the client's "
          f"utime+stime; on these 2 vCPUs one transfer runs on one server thread and one client "
          f"thread, so a side whose CPU time approaches the wall time is what bounds the point. "
          f"Each download is capped at "
          f"{next(iter(capped.values()), 60)} s; a point that hits the cap is not run again and "
          f"is given as an upper bound (size / cap). "
          f"{runs} runs per point" + (f" ({note})" if note else "") + ".", ""]
    md += ["| blksize | windowsize | client | server | runs | min MB/s | median MB/s | max MB/s | "
           "median s | median server CPU s | median client CPU s | ratio ringtftpd / this |",
           "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    med = {}
    for p, v in res.items():
        if v:
            med[p] = statistics.median(size / MB / x[0] for x in v)
            CPU_SINGLE[p] = tuple(statistics.median(x[i] for x in v) for i in range(3))
    for p in sorted(res, key=lambda p: (p[3] != "ringtftp", p[0], p[1], SERVERS.index(p[2]))):
        b, w, s, client = p
        v = res[p]
        if not v and p in capped:
            bound = size / MB / capped[p]
            med[p] = bound
            md.append(f"| {b} | {w} | {client} | {s} | 0 (+1 capped) | | **< {fmt(bound)}** | | > {capped[p]} | | | |")
            continue
        if not v:
            md.append(f"| {b} | {w} | {client} | {s} | 0 | FAILED | | | | | | |")
            continue
        extra = " (+1 capped)" if p in capped else ""
        lo, m, hi = summary([size / MB / x[0] for x in v])
        ring = med.get((b, w, "ringtftpd", client))
        ratio = f"{ring / m:.2f}" if ring and s != "ringtftpd" else ("1.00" if s == "ringtftpd" else "n/a")
        md.append(f"| {b} | {w} | {client} | {s} | {len(v)}{extra} | {fmt(lo)} | **{fmt(m)}** | {fmt(hi)} | "
                  f"{statistics.median(x[0] for x in v):.2f} | {statistics.median(x[1] for x in v):.2f} | "
                  f"{statistics.median(x[2] for x in v):.2f} | {ratio} |")
    md += [""]
    # compact matrix
    md += ["Medians, MB/s (n/a: the server lacks windowsize):", "",
           "| blksize | windowsize | ringtftpd | atftpd | tftpd-hpa | ringtftpd / atftpd | ringtftpd / tftpd-hpa |",
           "|---:|---:|---:|---:|---:|---:|---:|"]
    for b in (512, 1428, 8192, 65464):
        for w in (1, 16, 64):
            r, a, h = (med.get((b, w, s, "ringtftp")) for s in SERVERS)
            lt = lambda s: "< " if (b, w, s, "ringtftp") in capped and not res[(b, w, s, "ringtftp")] else ""
            md.append(f"| {b} | {w} | {lt('ringtftpd')}{fmt(r)} | {lt('atftpd')}{fmt(a)} | {lt('tftpd-hpa')}{fmt(h)} | "
                      f"{f'{r / a:.2f}' if r and a else 'n/a'} | {f'{r / h:.2f}' if r and h else 'n/a'} |")
    md += [""]
    groups = [f"{b}/{w}" for b in (512, 1428, 8192, 65464) for w in (1, 16, 64)] + ["curl 1428/1"]
    vals = {}
    for (b, w, s, client), v in res.items():
        if v:
            g = f"{b}/{w}" if client == "ringtftp" else "curl 1428/1"
            vals[(g, s)] = summary([size / MB / x[0] for x in v])
    img = plot_groups("tftp-single", f"One {human(size)} download on loopback (blksize/windowsize; bars: median, whiskers: min-max)",
                      "MB/s", groups, SERVERS, vals, logscale=True)
    if img:
        md += [f"![one download]({img})", ""]
    return md, med


def human(n):
    return f"{n // (1 << 20)} MiB" if n >= 1 << 20 else f"{n // 1024} KiB"
