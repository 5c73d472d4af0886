"""Section 3: copying one large file: read/write, copy_file_range, splice and ring depths/chunk
sizes, plain and registered buffers; the grid adapts to the time budget."""

import os
import statistics
import subprocess
import time

from common.proc import T0, log, sh
from common.stats import NAN, summary
from . import config as cfg
from .config import BIN, CPU, DISK_DIR, TMPFS_DIR
from .measure import failed_row, plot, run_one, spread_note


# Copy grids (chunk size -> depths), largest first. The runner takes the largest one that a
# calibration run says fits the time budget: "wide" on a quiet machine, "small" when other
# builds slow every 2 GiB copy down to several seconds.
COPY_GRIDS = {
    "wide": {"warm": [(1 << 20, [1, 2, 4, 8, 16]), (128 << 10, [1, 2, 4, 8, 16])],
             "cold": [(1 << 20, [1, 4, 16]), (128 << 10, [4])]},
    "default": {"warm": [(1 << 20, [1, 4, 16]), (128 << 10, [4])],
                "cold": [(1 << 20, [4, 16])]},
    "small": {"warm": [(1 << 20, [1, 4, 16]), (128 << 10, [4])],
              "cold": [(1 << 20, [4])]},
    "quick": {"warm": [(1 << 20, [1, 4]), (128 << 10, [4])],
              "cold": [(1 << 20, [1, 4]), (128 << 10, [4])]},
}


def copy_methods(grid_name, cold):
    m = [("read/write 1MiB (sync)", ["--method=rw", "--chunk=1048576"]),
         ("copy_file_range", ["--method=cfr"]),
         ("splice via pipe 1MiB", ["--method=splice", "--chunk=1048576"])]
    grid = COPY_GRIDS[grid_name]["cold" if cold else "warm"]
    for fixed in [False, True]:
        for chunk, depths in grid:
            for d in depths:
                if grid_name == "small" and fixed and (chunk, d) != (1 << 20, 4):
                    continue  # small: registered buffers only at the middle point
                name = "ring_fixed" if fixed else "ring"
                m.append((f"{name} {chunk >> 10}KiB x{d}",
                          [f"--method={name}", f"--chunk={chunk}", f"--depth={d}"]))
    return m


def run_copy(quick, grid, fs_types):
    size = (64 << 20) if quick else (2 << 30)
    src = "src-quick.bin" if quick else "src.bin"
    srcs = {"tmpfs": os.path.join(TMPFS_DIR, src), "disk": os.path.join(DISK_DIR, src)}
    for where, path in srcs.items():
        log(f"copy: making the {size >> 20} MiB source {path} (reused if present)")
        sh([os.path.join(BIN, "file_copy"), "--create", f"--src={path}", f"--size={size}"])
    configs = [("tmpfs", "warm", 1 if quick else 5), ("disk", "warm", 1 if quick else 5),
               ("disk", "cold", 1 if quick else 3)]
    note = ""
    if quick:
        grid = "quick"
    elif grid is None:
        # Calibrate: time one whole warm read/write run (warm-up, sync and process included) per
        # file system; take the largest grid that fits in what is left of the budget (cold runs
        # counted twice).
        per_run = []
        for where in ("tmpfs", "disk"):
            sh(["cat", srcs[where]], stdout=subprocess.DEVNULL)
            t = time.monotonic()
            sh([os.path.join(BIN, "file_copy"), f"--src={srcs[where]}", "--method=rw", "--no-verify"],
               stdout=subprocess.DEVNULL)
            per_run.append(time.monotonic() - t)
        est = statistics.mean(per_run)
        left = cfg.BUDGET_S - (time.monotonic() - T0) - 30
        need = {}
        for name in ("wide", "default", "small"):
            runs = sum(len(copy_methods(name, c == "cold")) * r * (2 if c == "cold" else 1)
                       for _, c, r in configs)
            need[name] = runs * est
        grid = next((n for n in ("wide", "default", "small") if need[n] <= left), "small")
        note = (f"Copy grid chosen by the runner: **{grid}** (one warm 2 GiB read/write run took "
                f"{est:.1f} s including warm-up and sync; estimated need: "
                + ", ".join(f"{n} {need[n] / 60:.0f} min" for n in need)
                + f"; {left / 60:.1f} min of the {cfg.BUDGET_S / 60:.0f}-minute budget were left).")
        log("copy: " + note.replace("**", ""))
    results = {}
    for where, cache, reps in configs:
        fs = fs_types[where]
        methods = copy_methods(grid, cache == "cold")
        if cache == "warm":
            sh(["cat", srcs[where]], stdout=subprocess.DEVNULL)  # into the page cache
        for rep in range(reps):
            log(f"copy: {fs} {cache} cache, round {rep + 1}/{reps} ({len(methods)} methods)")
            for label, args in methods:
                cmd = [os.path.join(BIN, "file_copy"), f"--src={srcs[where]}", f"--fs={fs}"] + args
                if cache == "cold":
                    cmd.append("--cold")
                if rep > 0:
                    cmd.append("--no-verify")  # the first round checked every method's copy
                vals = results.setdefault((where, cache), {}).setdefault(label, [])
                rec = run_one(cmd, label)
                if rec is not None:
                    vals.append(rec["gb_per_s"])
                    CPU.setdefault(("copy", where, cache, label), []).append(rec["cpu_seconds"])
    return results, size, note


def report_copy(results, size, fs_types, note=""):
    md = [f"## 3. Copying one {size / 2**30:g} GiB file", "",
          "**read/write 1MiB (sync)**: `read(2)`/`write(2)` loop (the baseline). **ring C xD**: D "
          "worker tasks on one executor, each reading a C-sized chunk into its own buffer and "
          "writing it from the same buffer, so up to D chunks are in flight. **ring_fixed**: the "
          "same with `READ_FIXED`/`WRITE_FIXED` on page-aligned buffers registered with "
          "`Executor::register_buffers`. **copy_file_range**: one loop of `copy_file_range(2)`. "
          "**splice**: file → pipe (1 MiB) → file. Timed from opening the destination to closing "
          "it, without fsync (as cp does); warm runs follow an untimed 32 MiB warm-up copy. Every method's first copy is checked (size and XXH3 of "
          "the whole file against the source). GB/s (10^9 bytes); ratio = median / baseline's median "
          "(above 1 is faster). CPU s counts all threads of the process, io-wq workers included. Cold: the page cache is dropped before each run (disk only; "
          "tmpfs cannot be evicted), 3 runs and a smaller grid because each run is slow. Which depths "
          "and chunk sizes run depends on time: the wide grid (depths 1, 2, 4, 8, 16 at 128 KiB "
          "and 1 MiB, plain and fixed) when a calibration run shows that it fits the 20-minute "
          "budget, else the default (1/4/16 at 1 MiB, 4 at 128 KiB) or the small grid (the same "
          "for plain buffers, registered buffers at 1 MiB x4 only); `--grid` forces one.",
          ""] + ([note, ""] if note else [])
    decisions = {}
    for (where, cache), per in results.items():
        fs = fs_types[where]
        md += [f"### {fs}, {cache} cache", "",
               "| method | runs | min GB/s | median GB/s | max GB/s | median s | median CPU s | ratio |",
               "|---|---:|---:|---:|---:|---:|---:|---:|"]
        per = {k: v for k, v in per.items() if v or md.append(failed_row(k, 8))}
        base_label = "read/write 1MiB (sync)"
        if base_label not in per:
            md.append("")
            continue
        base = statistics.median(per[base_label])
        rows = []
        for label, vals in per.items():
            lo, med, hi = summary(vals)
            cpu = statistics.median(CPU.get(("copy", where, cache, label), [NAN]))
            md.append(f"| {label} | {len(vals)} | {lo:.2f} | {med:.2f} | {hi:.2f} | {size / med / 1e9:.2f} | {cpu:.2f} | "
                      f"{med / base:.2f} |")
            rows.append((label, lo, med, hi))
        png = plot(f"copy_{fs}_{cache}", f"Copy {size >> 20} MiB, {fs}, {cache} cache "
                   "(median, min-max)", "GB/s", rows)
        if png:
            md += ["", f"![copy {fs} {cache}]({png})"]
        med = {label: statistics.median(v) for label, v in per.items()}
        best = max(med, key=med.get)
        ring = {k: v for k, v in med.items() if k.startswith("ring ")}
        fixed = {k: v for k, v in med.items() if k.startswith("ring_fixed")}
        br = max(ring, key=ring.get) if ring else None
        bf = max(fixed, key=fixed.get) if fixed else None
        decisions[(where, cache)] = (best, med)
        md += ["", "#### Decision", ""]
        md.append(f"- Fastest: **{best}** at {med[best]:.2f} GB/s ({med[best] / base:.2f}x the "
                  f"read/write loop's {base:.2f} GB/s). copy_file_range {med.get('copy_file_range', NAN):.2f}, "
                  f"splice {med.get('splice via pipe 1MiB', NAN):.2f}"
                  + (f", best ring {br} {ring[br]:.2f}" if br else "")
                  + (f", best ring_fixed {bf} {fixed[bf]:.2f}" if bf else "") + " GB/s.")
        md += spread_note(per, best, True)
        if br and bf:
            gain = fixed[bf] / ring[br]
            md.append(f"- Registered buffers vs plain (best of each): {gain:.2f}x — "
                      + ("worth it here." if gain > 1.1 else "no clear gain on buffered I/O here."))
        md.append(f"- Supports as the copy strategy for {fs} ({cache} cache): **{best}**"
                  + (" (differences under ~10% are within this run's noise)." if
                     sorted(med.values())[-2] > med[best] * 0.9 else "."))
        md.append("")
    return md, decisions
