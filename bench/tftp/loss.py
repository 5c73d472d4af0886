"""Section 3: downloads with loss injected by the client."""

import os

from common.proc import log
from common.stats import summary
from .clients import client_argv, run_client, same_file
from .config import MB, OUT, SERVERS, SRV, WINDOWED
from .plots import fmt, plot_groups
from .rounds import FAILURES, rounds_loop
from .servers import Server
from .single import human


def run_loss(quick, budget, big, small, runs_wanted):
    """Each server at its best setting for blksize 1428 (windowsize 64, tftpd-hpa 1), at 0, 1 and
    5% loss injected by the client (seed = round number, the same for every server within a
    round). ringtftpd gets the big file every run; the peers get the big file lossless and, when
    lossy, the small file, capped, for fewer runs (they recover from a loss by timeouts of a
    second or more and would need many minutes per 100 MiB)."""
    servers = {k: Server(k).start() for k in SERVERS}
    losses = [0, 1, 5]
    res = {}  # (loss, server) -> list of (seconds or None, bytes, cap, rc)
    local = os.path.join(OUT, "lossy")
    cap_small = 20 if quick else 45

    def one_round(r):
        for loss in losses:
            for s in SERVERS:
                fname, fsize = big if (s == "ringtftpd" or loss == 0) else small
                if s != "ringtftpd" and loss > 0 and len(res.get((loss, s), [])) >= (
                        1 if loss == 5 or s == "tftpd-hpa" else 2):
                    continue  # enough runs of a slow peer: a bound is all they give at this cost
                w = 64 if WINDOWED[s] else 1
                srv = servers[s]
                argv = client_argv("ringtftp", srv.host(), fname, local, 1428, w)
                if loss:
                    argv += ["--loss", f"{loss / 100}", "--seed", str(r + 1), "--dally", "0"]
                cap = 300 if fname == big[0] else cap_small
                rc, wall, _, out, err = run_client(argv, cap)
                ok = rc == 0 and same_file(local, os.path.join(SRV, fname))
                res.setdefault((loss, s), []).append((wall if ok else None, fsize, cap, rc))
                if not ok:
                    what = "capped at %d s" % cap if rc is None else f"exit {rc}: {err.strip()[-200:]}"
                    if rc is not None or (fname == big[0] and s == "ringtftpd"):
                        FAILURES.append(("loss", (loss, s, fname), what, " ".join(argv)))
                    log(f"loss {loss}% {s}: {what}")
                if os.path.exists(local):
                    os.remove(local)

    try:
        runs, note = rounds_loop("loss", budget, runs_wanted, 1 if quick else 3, one_round)
    finally:
        for s in servers.values():
            s.stop()
    return res, runs, note


def report_loss(res, runs, note, big, small):
    md = ["## 3. Loss", "",
          f"Loss injected by the client: `ringtftp get ... --loss P --seed ROUND --dally 0` drops "
          f"P of the datagrams it sends and, independently, of those it receives (requests, "
          f"DATA, ACKs and OACKs alike), for every server alike, on loopback. netem would drop in "
          f"the kernel, but this kernel is built without it (`CONFIG_NET_SCH_NETEM` is not set). "
          f"`--dally 0`: the client does not linger after its last ACK (with --loss it otherwise "
          f"waits 1 s for a server that missed it), so the time is the transfer's. blksize 1428 "
          f"with windowsize 64 for ringtftpd and atftpd, 1 for tftpd-hpa (its only choice). "
          f"ringtftpd downloads {human(big[1])} every run; when lossy, the peers download "
          f"{human(small[1])} (atftpd 2 runs at 1%, tftpd-hpa 1; 1 run each at 5%; capped at the time shown), "
          f"because they recover from a loss by waiting a timeout and {human(big[1])} would take "
          f"many minutes per run. A run that hit its cap gives an upper bound (size / cap). "
          f"{runs} rounds" + (f" ({note})" if note else "") + ".", "",
          "| loss each way | server | file | runs | min MB/s | median MB/s | max MB/s | % of its lossless median |",
          "|---:|---|---|---:|---:|---:|---:|---:|"]
    lossless = {}
    meds = {}
    for loss in (0, 1, 5):
        for s in SERVERS:
            v = res.get((loss, s))
            if not v:
                continue
            done = [size / MB / t for t, size, cap, rc in v if t]
            capped = [(size, cap) for t, size, cap, rc in v if t is None and rc is None]
            failed = [rc for t, size, cap, rc in v if t is None and rc is not None]
            fname = human(v[0][1])
            if done:
                lo, m, hi = summary(done)
                meds[(loss, s)] = m
                if loss == 0:
                    lossless[s] = m
                pct = f"{100 * m / lossless[s]:.0f}%" if s in lossless and loss else ("100%" if not loss else "n/a")
                extra = f" (+{len(capped)} capped)" if capped else ""
                extra += f" (+{len(failed)} failed)" if failed else ""
                md.append(f"| {loss}% | {s} | {fname} | {len(done)}{extra} | {fmt(lo)} | **{fmt(m)}** | {fmt(hi)} | {pct} |")
            elif capped:
                size, cap = capped[0]
                bound = size / MB / cap
                meds[(loss, s)] = bound
                pct = f"< {100 * bound / lossless[s]:.1f}%" if s in lossless else "n/a"
                md.append(f"| {loss}% | {s} | {fname} | 0 of {len(v)}: none finished within {cap} s | | "
                          f"**< {fmt(bound)}** | | {pct} |")
            else:
                md.append(f"| {loss}% | {s} | {fname} | 0 of {len(v)}: FAILED (exit {failed[0]}) | | | | |")
    md += [""]
    groups = ["0%", "1%", "5%"]
    vals = {}
    for (loss, s), v in res.items():
        done = [size / MB / t for t, size, cap, rc in v if t]
        if done:
            vals[(f"{loss}%", s)] = summary(done)
    img = plot_groups("tftp-loss", "blksize 1428, loss injected by the client (each way); bars: median", "MB/s",
                      groups, SERVERS, vals, logscale=True)
    if img:
        md += [f"![loss]({img})", ""]
    return md, meds, lossless
