"""The report's tables: one per workload, case and file system, and the targets of issue 3."""

import statistics

from common.plot import BarStyle, bars
from common.stats import summary
from . import config as cfg
from .config import BUILD
from .plan import CELLS, CONFIGS, PEERS, RS_DEFAULT
from .results import FAILURES, NOTES, med, runs_of, runs_of_any

STYLE = BarStyle(per_bar=34, extra=220, height=560, fill=0.7, rotate=-50, bmargin=12, rmargin=14)


def color_of(label):
    for key, rgb in [("rsync", 0x888888), ("cp -a", 0xbbbbbb), ("tar", 0x555555),
                     ("threads/pool", 0xee7733), ("uring/pool", 0xee3377),
                     ("threads", 0x66ccee), ("auto", 0x99bb44), ("ringsync", 0x228833)]:
        if key in label:
            return rgb
    return 0x009988



def plot(name, title, ylabel, rows, logscale=False):
    """rows: (label, min, median, max). Bars at the median, error bars from min to max."""
    return bars(name, title, ylabel, rows, color_of, STYLE, BUILD, cfg.IMG, logscale)


def fs_label(where, cache, fs_types):
    return f"{fs_types[where]}, {cache} cache"


def cell(text):
    """Text for a Markdown table cell (`tar | tar` would split the row)."""
    return str(text).replace("|", "\\|")


def fmt_s(x):
    if x is None:
        return "–"
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def planned(workload, case, where, cache):
    """(methods run, optional methods the budget dropped) of a cell."""
    got = NOTES.get("plan", {}).get(" | ".join((workload, case, where, cache)))
    if got:
        return got
    c = next((c for c in CELLS if c[:4] == (workload, case, where, cache)), None)
    return (c[4] + c[5], []) if c else ([], [])


def case_table(workload, case, where, cache, fs_types, memory=False):
    """Rows for one workload/case/config: each method's min/median/max, CPU, and how much faster
    ringsync (default) is than it."""
    methods, _ = planned(workload, case, where, cache)
    key_wl = workload if case == "initial" else f"{workload}-{case}"
    if not runs_of_any(workload, case, where, cache) and not any(
            k[:3] == (key_wl, where, cache) for k in FAILURES):
        return ["Not measured: the run was stopped before it reached this case."], []
    base = med(workload, case, where, cache, RS_DEFAULT)
    hdr = "| method | runs | min s | median s | max s | median CPU s | cores used | max RSS MiB |"
    sep = "|---|---:|---:|---:|---:|---:|---:|---:|"
    if memory:
        hdr += " peak RSS of the tree MiB (procs) |"
        sep += "---:|"
    hdr += " ringsync speedup over it |"
    sep += "---:|"
    md = [hdr, sep]
    rows = []
    for m in methods:
        key = (workload if case == "initial" else f"{workload}-{case}", where, cache, m)
        w = runs_of(workload, case, where, cache, m)
        if not w:
            err = FAILURES.get(key, "not run")
            md.append(f"| {cell(m)} | 0 | **FAILED**: {cell(err[:300])} |" + " |" * (7 + memory))
            continue
        lo, md_, hi = summary(w)
        cpu = statistics.median(runs_of(workload, case, where, cache, m, "cpu"))
        rss = statistics.median(runs_of(workload, case, where, cache, m, "maxrss_kb")) / 1024
        speed = f"{md_ / base:.2f}x" if base else "–"
        if m == RS_DEFAULT:
            speed = "1.00 (itself)"
        name = cell(m)
        row = (f"| {'**' + name + '**' if m == RS_DEFAULT else name} | {len(w)} | {fmt_s(lo)} | "
               f"{fmt_s(md_)} | {fmt_s(hi)} | {fmt_s(cpu)} | {cpu / md_:.2f} | {rss:.1f} |")
        if memory:
            ms = runs_of(workload, case, where, cache, m, "memsum_kb")
            npr = runs_of(workload, case, where, cache, m, "nprocs")
            row += f" {statistics.median(ms) / 1024:.1f} ({max(npr)}) |" if ms else " – |"
        row += f" {speed} |"
        md.append(row)
        rows.append((f"{fs_types[where]} {cache}: {m}", lo, md_, hi))
    if case != "initial":
        for m in ("cp -a", "tar | tar"):
            md.append(f"| {cell(m)} | – | n/a: no incremental mode (a full copy, §1; slower still over an existing tree on ext4) |" + " |" * (6 + memory))
    dropped = planned(workload, case, where, cache)[1]
    if dropped:
        md += ["", "Not run here, to keep the run in its time budget: " + ", ".join(dropped) + "."]
    return md, rows


TARGETS = [
    # (id, workload, case, peer, factor, text)
    ("1", "small", "initial", "tar | tar", 1.3, "initial copy of 100 000 small files: ≥1.3x `tar | tar`"),
    ("1", "small", "initial", "cp -a", 3.0, "initial copy: ≥3x `cp -a`"),
    ("1", "small", "initial", "rsync -a", 4.0, "initial copy: ≥4x `rsync -a`"),
    ("2", "small", "noop", "rsync -a", 5.0, "no-op re-sync: ≥5x `rsync -a`"),
    ("4", "big", "initial", "fastest", 1.0, "4 large files: at least as fast as the fastest peer"),
]


def target_rows(fs_types, strace):
    md = ["| # | target | file system | ringsync median s | peer median s | speedup | target | verdict | CPU-time ratio |",
          "|---|---|---|---:|---:|---:|---:|---|---:|"]
    verdicts = []
    for tid, wl, case, peer, factor, text in TARGETS:
        for where, cache in CONFIGS:
            rs = med(wl, case, where, cache, RS_DEFAULT)
            if peer == "fastest":
                cands = [(med(wl, case, where, cache, p), p) for p in PEERS]
                cands = [c for c in cands if c[0] is not None]
                pm, pname = min(cands) if cands else (None, "?")
            else:
                pm, pname = med(wl, case, where, cache, peer), peer
            if rs is None or pm is None:
                md.append(f"| {tid} | {cell(text)} | {fs_label(where, cache, fs_types)} | – | – | – | "
                          f"{factor:.1f}x | not measured in this run | – |")
                continue
            sp = pm / rs
            ok = sp >= factor
            verdict = ("**met**" if ok else f"**missed** (needs ≤{rs * sp / factor:.2f} s, "
                       f"{(1 - sp / factor) * 100:.0f}% short)")
            pname_cpu = pname
            rc, pc = med(wl, case, where, cache, RS_DEFAULT, "cpu"), med(wl, case, where, cache, pname_cpu, "cpu")
            cpu_ratio = f"{pc / rc:.2f}x" if rc and pc else "–"
            verdicts.append((tid, text, where, cache, ok, sp, factor))
            if wl == "small" and cache == "cold" and NOTES.get("small_cold"):
                text = text + " (cold: a tenth of the files)"
            md.append(f"| {tid} | {cell(text)}{' (' + cell(pname) + ')' if peer == 'fastest' else ''} | "
                      f"{fs_label(where, cache, fs_types)} | {fmt_s(rs)} | {fmt_s(pm)} | "
                      f"{sp:.2f}x | {factor:.1f}x | {verdict} | {cpu_ratio} |")
    # 6: memory and syscalls
    rs = med("empty", "initial", "tmpfs", "warm", RS_DEFAULT, "memsum_kb")
    rp = med("empty", "initial", "tmpfs", "warm", "rsync -a", "memsum_kb")
    if rs and rp:
        ok = rs <= rp
        md.append(f"| 6 | 1 000 000 empty files: peak memory ≤ `rsync -a`'s (sum over processes) | "
                  f"{fs_types['tmpfs']} | {rs / 1024:.1f} MiB | {rp / 1024:.1f} MiB | "
                  f"{rp / rs:.2f}x less | ≤1.0x | {'**met**' if ok else '**missed**'} | – |")
        verdicts.append(("6", "memory", "tmpfs", "warm", ok, rp / rs, 1.0))
    if strace and RS_DEFAULT in strace["methods"] and "initial" in strace["methods"][RS_DEFAULT]:
        n = strace["files"]
        calls = sum(c for c, _ in strace["methods"][RS_DEFAULT]["initial"]["calls"].values())
        per = calls / n
        ok = per <= 8
        md.append(f"| 6 | syscalls per copied small file ≤ 8 (`strace -c -f`, {n:,} files) | "
                  f"{fs_types['tmpfs']} | {per:.2f} | – | – | ≤8 | {'**met**' if ok else '**missed**'} | – |")
        verdicts.append(("6", "syscalls", "tmpfs", "warm", ok, per, 8))
    return md, verdicts
