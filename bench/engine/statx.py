"""Section 2: statx over a tree of files: direct, inline, ring depths and pool sizes."""

import os
import statistics

from common.proc import log, sh
from common.stats import NAN, fmt, summary
from .config import BIN, CPU, DISK_DIR, TMPFS_DIR
from .measure import failed_row, plot, run_one, spread_note


def statx_methods(quick):
    methods = [("direct", []), ("inline", [])]
    for d in ([8, 64] if quick else [8, 16, 32, 64, 128, 256]):
        methods.append((f"ring depth {d}", ["--method=ring", f"--depth={d}"]))
    for t in ([1, 4] if quick else [1, 2, 4, 8, 16]):
        methods.append((f"pool {t} threads", ["--method=pool", f"--threads={t}", "--depth=64"]))
    return [(label, args if args else [f"--method={label}"]) for label, args in methods]


def run_statx(quick, fs_types):
    dirs, files = (10, 100) if quick else (100, 1000)
    tree = "tree-quick" if quick else "tree"
    trees = {"tmpfs": os.path.join(TMPFS_DIR, tree), "disk": os.path.join(DISK_DIR, tree)}
    for where, path in trees.items():
        log(f"statx: making the {dirs}x{files} tree in {path} (reused if present)")
        sh([os.path.join(BIN, "statx_tree"), "--create", f"--dir={path}", f"--dirs={dirs}",
            f"--files={files}"])
    configs = [("tmpfs", "warm", 1 if quick else 5), ("disk", "warm", 1 if quick else 5),
               ("disk", "cold", 1 if quick else 5)]
    results = {}
    methods = statx_methods(quick)
    for where, cache, reps in configs:
        fs = fs_types[where]
        for rep in range(reps):
            log(f"statx: {fs} {cache} cache, round {rep + 1}/{reps} ({len(methods)} methods)")
            for label, args in methods:
                cmd = [os.path.join(BIN, "statx_tree"), f"--dir={trees[where]}", f"--dirs={dirs}",
                       f"--files={files}", f"--fs={fs}"] + args
                if cache == "cold":
                    cmd.append("--cold")
                vals = results.setdefault((where, cache), {}).setdefault(label, [])
                rec = run_one(cmd, label)
                if rec is not None:
                    vals.append(rec["ns_per_file"])
                    CPU.setdefault(("statx", where, cache, label), []).append(rec["cpu_seconds"])
    return results, dirs * files


def report_statx(results, nfiles, fs_types):
    md = ["## 2. statx over a tree of "
          f"{nfiles:,} files", "",
          "Every file of a 100-directory tree is statx'ed (`AT_SYMLINK_NOFOLLOW`, "
          "`STATX_BASIC_STATS`); only the statx calls are timed. "
          "**direct**: `statx(2)` in a loop (the baseline). **inline**: `co_await fs::statx` in one "
          "coroutine (`metadata_ops=cheap`, `cheap_calls=inline`). **ring depth N**: "
          "`metadata_ops=ring`, N worker tasks keep N `IORING_OP_STATX` in flight (io-wq executes "
          "them). **pool N threads**: `metadata_ops=cheap`, `cheap_calls=pool`, `pool_threads=N`, "
          "64 requests kept queued. Cold cache: `sync; echo 3 > /proc/sys/vm/drop_caches` before "
          "each run. **drop_caches does not evict tmpfs** (its pages are the files), so cold-cache "
          "runs are on the disk file system only. ns per file; ratio = median / direct's median "
          "(below 1 is faster). CPU s counts every thread of the process, io-wq workers and pool "
          "threads included: above the wall time means a method also used the second vCPU, which "
          "in a thread-per-core deployment belongs to another executor.", ""]
    decisions = {}
    for (where, cache), per in results.items():
        fs = fs_types[where]
        md += [f"### {fs}, {cache} cache", "",
               "| method | runs | min ns/file | median ns/file | max ns/file | median s total | median CPU s | ratio |",
               "|---|---:|---:|---:|---:|---:|---:|---:|"]
        per = {k: v for k, v in per.items() if v or md.append(failed_row(k, 8))}
        if "direct" not in per:
            md.append("")
            continue
        base = statistics.median(per["direct"])
        rows = []
        for label, vals in per.items():
            lo, med, hi = summary(vals)
            cpu = statistics.median(CPU.get(("statx", where, cache, label), [NAN]))
            md.append(f"| {label} | {len(vals)} | {fmt(lo)} | {fmt(med)} | {fmt(hi)} | {med * nfiles / 1e9:.3f} | {cpu:.3f} | "
                      f"{med / base:.2f} |")
            rows.append((label, lo, med, hi))
        png = plot(f"statx_{fs}_{cache}", f"statx of {nfiles} files, {fs}, {cache} cache "
                   "(median, min-max)", "ns per file", rows)
        if png:
            md += ["", f"![statx {fs} {cache}]({png})"]
        med = {label: statistics.median(v) for label, v in per.items()}
        best = min(med, key=med.get)
        ring = {k: v for k, v in med.items() if k.startswith("ring")}
        pool = {k: v for k, v in med.items() if k.startswith("pool")}
        best_ring = min(ring, key=ring.get) if ring else None
        best_pool = min(pool, key=pool.get) if pool else None
        decisions[(where, cache)] = (best, med)
        md += ["", "#### Decision", ""]
        md.append(f"- Fastest: **{best}** at {fmt(med[best])} ns/file "
                  f"({med[best] / med.get('direct', NAN):.2f}x direct). inline: {fmt(med.get('inline', NAN))} ns/file "
                  f"({med.get('inline', NAN) / med.get('direct', NAN):.2f}x)"
                  + (f"; best ring: {best_ring} at {fmt(ring[best_ring])} ns/file "
                     f"({ring[best_ring] / med.get('inline', NAN):.2f}x inline)" if best_ring else "")
                  + (f"; best pool: {best_pool} at {fmt(pool[best_pool])} ns/file "
                     f"({pool[best_pool] / med.get('inline', NAN):.2f}x inline)." if best_pool else "."))
        md += spread_note(per, best, False)
        if best_ring and ring[best_ring] < med.get("inline", NAN) * 0.9:
            md.append("- Here the ring beats the inline call by more than 10%: supports "
                      "`metadata_ops=ring` for this case.")
        elif best_pool and pool[best_pool] < med.get("inline", NAN) * 0.9:
            md.append("- Here the pool beats the inline call by more than 10% (parallel I/O); "
                      "ring does not: supports parallel placement for cold trees.")
        else:
            md.append("- Neither ring nor pool beats the inline call by more than 10%: supports "
                      "`metadata_ops=cheap` with `cheap_calls=inline` here.")
        md.append("")
    return md, decisions
