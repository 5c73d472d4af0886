"""The measurement loops: each workload's cells, the methods interleaved and rotated per round,
every copy verified."""

import os
import random
import shutil
import time

from common.proc import log, sh
from . import config as cfg
from .commands import command, slug, timed
from .disk import drop_caches, rm_rf, warm
from .plan import CONFIGS, cell_index
from .results import FAILURES, NOTES, fail, record, save_partial
from .workload import VerifyError, make_big_files, make_small_tree, make_usr_copy, mutate, verify, walk


def rotated(methods, rnd):
    k = rnd % len(methods)
    return methods[k:] + methods[:k]


def prepare(where, cache, remove=None):
    """Untimed, before every run: remove the previous copy, write back what earlier runs left
    dirty (so that no run pays for another's writeback) and, for cold runs, drop the caches."""
    if remove:
        rm_rf(remove)
    if where == "disk":
        if cache == "cold":
            drop_caches()
        else:
            sh(["sync"])


def run_copy_case(workload, case, where, cache, src, base, runs, counts, sample,
                  keep_as=None, track_memory=False, full_first=False, check_mtime=True, methods=None):
    """The initial copy: each run copies src into a fresh base/dst-run. keep_as(method) names
    where the final round's copy is kept (for the re-sync cases). Returns the methods run."""
    if methods is None:
        methods = cfg.BUDGET.choose(cell_index(workload, case, where, cache))
    cell = (workload, case, where, cache)
    dst = os.path.join(base, "dst-run")
    if cache == "warm" and where == "disk":
        warm(src)
    for rnd in range(runs):
        log(f"{workload}/{case}: {where} {cache}, round {rnd + 1}/{runs}")
        for method in rotated(methods, rnd):
            key = (workload, where, cache, method)
            if key in FAILURES:
                continue
            t = time.monotonic()
            prepare(where, cache, remove=dst)
            if method == "tar | tar":
                os.makedirs(dst)
            pipeline, env = command(method, src, dst)
            try:
                rec = timed(pipeline, env, track_memory)
                # Large files: ringsync's first copy is compared in full (cmp), the peers' by
                # windows, to keep the run short.
                verify(src, dst, counts, sample, method, check_mtime=check_mtime,
                       full=full_first and rnd == 0 and method.startswith("ringsync"))
            except (RuntimeError, VerifyError, OSError) as e:
                fail(key, e)
                continue
            record(workload, case, where, cache, method, rnd, rec)
            if keep_as and rnd == runs - 1:
                rm_rf(keep_as(method))
                os.rename(dst, keep_as(method))
            cfg.BUDGET.observe(cell, method, time.monotonic() - t)
    rm_rf(dst)
    save_partial()
    return methods


def run_small(quick, runs, trees):
    dirs, files = (10, 100) if quick else (100, 1000)
    NOTES["small"] = f"{dirs * files:,} files of 1 KiB in {dirs} directories"
    for where, cache in CONFIGS:
        base = trees[where]
        src = os.path.join(base, "small-src")
        if cache == "cold" and not quick:
            # A cold small file costs a disk read of ~1.5 ms here (latency-bound; `cp -a` of
            # 100 000 would take minutes per run): the cold runs use a tenth of the tree.
            src = os.path.join(base, "small-cold-src")
            cold_files = files // 10
            NOTES["small_cold"] = (f"{dirs * cold_files:,} files of 1 KiB in {dirs} directories "
                                   "(a tenth of the warm tree: see the note in §1)")
        n = files // 10 if cache == "cold" and not quick else files
        log(f"small: making {dirs} x {n} files of 1 KiB in {src} (reused if present)")
        make_small_tree(src, dirs, n, 1024)
        counts, names = walk(src)  # the .complete marker is copied too, and counted
        names = sorted(n for n in names if n != ".complete")
        sample = random.Random(1).sample(names, min(200, len(names)))
        kept = lambda m: os.path.join(base, f"small-dst-{cache}-{slug(m)}")
        methods = run_copy_case("small", "initial", where, cache, src, base, runs, counts, sample,
                                keep_as=kept)
        # The re-syncs run on the copies the last initial round left, one per method.
        ok = [m for m in methods if ("small", where, cache, m) not in FAILURES]
        for case in ("noop", "changed"):
            ok_case = cfg.BUDGET.choose(cell_index("small", case, where, cache), available=ok)
            cell = ("small", case, where, cache)
            if cache == "warm" and where == "disk":
                warm(src)
            for rnd in range(runs):
                changed = []
                if case == "changed":
                    changed = mutate(src, names, rnd)
                log(f"small/{case}: {where} {cache}, round {rnd + 1}/{runs}"
                    + (f" ({len(changed)} files changed)" if changed else ""))
                check = sample + random.Random(rnd).sample(changed, min(200, len(changed)))
                for method in rotated(ok_case, rnd):
                    key = ("small-" + case, where, cache, method)
                    if key in FAILURES:
                        continue
                    t = time.monotonic()
                    dst = kept(method)
                    prepare(where, cache)
                    pipeline, env = command(method, src, dst)
                    try:
                        rec = timed(pipeline, env)
                        verify(src, dst, counts, check, method)
                    except (RuntimeError, VerifyError, OSError) as e:
                        fail(key, e)
                        continue
                    record("small", case, where, cache, method, rnd, rec)
                    cfg.BUDGET.observe(cell, method, time.monotonic() - t)
            save_partial()
        for m in methods:
            rm_rf(kept(m))


def big_size(quick, count):
    """4 x 1 GiB unless /dev/shm or memory cannot hold the source, one copy and a margin."""
    if quick:
        return 16 << 20, "quick mode: 4 x 16 MiB"
    size = 1 << 30
    shm_free = shutil.disk_usage("/dev/shm").free
    with open("/proc/meminfo") as f:
        avail = next(int(l.split()[1]) << 10 for l in f if l.startswith("MemAvailable:"))
    disk_free = shutil.disk_usage(os.path.dirname(cfg.DISK_DIR)).free
    need = lambda s: 2 * count * s + (2 << 30)
    while size > (64 << 20) and (need(size) > shm_free or need(size) + (2 << 30) > avail
                                 or need(size) > disk_free):
        size //= 2
    note = (f"{count} x {size >> 20} MiB" + ("" if size == 1 << 30 else
            f" (scaled down from 1 GiB: /dev/shm free {shm_free >> 30} GiB, MemAvailable "
            f"{avail >> 30} GiB, {os.path.dirname(cfg.DISK_DIR)} free {disk_free >> 30} GiB; "
            f"a run needs the source and one copy, {2 * count} x the file size, plus 2 GiB)") +
            f"; at the start: /dev/shm free {shm_free / 2**30:.1f} GiB, MemAvailable "
            f"{avail / 2**30:.1f} GiB, ext4 free {disk_free / 2**30:.0f} GiB")
    return size, note


def run_big(quick, runs, trees):
    count = 4
    size, note = big_size(quick, count)
    NOTES["big"] = note
    NOTES["big_size"] = size
    for where, cache in CONFIGS:
        src = os.path.join(trees[where], "big-src")
        log(f"big: making {count} x {size >> 20} MiB in {src} (reused if present)")
        make_big_files(src, count, size)
        counts, names = walk(src)
        run_copy_case("big", "initial", where, cache, src, trees[where], cfg.BUDGET.long_runs, counts,
                      names, full_first=True)
        if where == "tmpfs":
            rm_rf(src)  # give the memory back before the ext4 runs


def usr_source(quick):
    if quick:
        for p in ("/usr/share/zoneinfo", "/usr/share/doc", "/usr/share/man"):
            if os.path.isdir(p):
                return p
    return "/usr/share"


def run_usr(quick, runs, trees):
    source = usr_source(quick)
    for where, cache in CONFIGS:
        methods = cfg.BUDGET.choose(cell_index("usr", "initial", where, cache))
        if not methods:
            continue
        src = os.path.join(trees[where], "usr-src")
        log(f"usr: copying {source} to {src} with cp -a (once)")
        make_usr_copy(src, source)
        counts, names = walk(src)
        if where == "tmpfs":
            total = sum(os.lstat(os.path.join(src, n)).st_size for n in names)
            NOTES["usr"] = (f"a copy of {source}: {counts[0]:,} files, {counts[1]:,} directories, "
                            f"{counts[2]:,} symlinks, {total / 2**20:.0f} MiB")
        sample = random.Random(2).sample(sorted(names), min(300, len(names)))
        run_copy_case("usr", "initial", where, cache, src, trees[where], runs, counts, sample,
                      methods=methods)
        if where == "tmpfs":
            rm_rf(src)


def run_empty(quick, runs, trees):
    dirs, files = (20, 500) if quick else (1000, 1000)
    NOTES["empty"] = f"{dirs * files:,} empty files in {dirs} directories, tmpfs"
    src = os.path.join(trees["tmpfs"], "empty-src")
    log(f"empty: making {dirs} x {files} empty files in {src} (reused if present)")
    make_small_tree(src, dirs, files, 0)
    counts, names = walk(src)
    sample = random.Random(3).sample(names, min(200, len(names)))
    del names
    run_copy_case("empty", "initial", "tmpfs", "warm", src, trees["tmpfs"], cfg.BUDGET.long_runs, counts,
                  sample, track_memory=True)
    rm_rf(src)
