"""What the ringsync benchmark runs: the methods (peers and ringsync variants), the cells
(workload, case, file system, cache) in run order, and the time budget that decides which
optional variants fit."""

import statistics
import time

from common.proc import T0, log
from .results import NOTES


PEERS = ["rsync -a", "cp -a", "tar | tar"]
RS_DEFAULT = "ringsync uring/inline"
RS_ALL = [f"ringsync {b}/{c}" for b in ("uring", "threads") for c in ("inline", "auto", "pool")]
RS_CORE = ["ringsync uring/inline", "ringsync threads/inline"]

# What runs where: per cell (workload, case, file system, cache), the core methods (always run)
# and optional ringsync variants, in order of interest, that run while the time budget allows
# (see Budget). The whole backend x cheap-calls matrix is offered on the small files on tmpfs,
# where per-call cost is all there is; on ext4 the pool (on a cold disk a blocking call may
# overlap I/O) and the threads backend; elsewhere the threads backend. `auto` is `inline` on
# local file systems (ext4, tmpfs) by design, so it is offered on tmpfs only, to show that.
# cp and tar have no incremental mode: the re-sync cells compare with rsync only (see the report).
RS_VARIANTS_TMPFS = ["ringsync threads/inline", "ringsync uring/pool", "ringsync uring/auto",
                     "ringsync threads/pool", "ringsync threads/auto"]
CELLS = []  # (workload, case, where, cache, core, optional), in run order
for _where, _cache, _opt in [("tmpfs", "warm", RS_VARIANTS_TMPFS),
                             ("disk", "warm", ["ringsync threads/inline", "ringsync uring/pool"]),
                             ("disk", "cold", ["ringsync uring/pool", "ringsync threads/inline"])]:
    # On tmpfs the backend x cheap-calls matrix is part of the core: it is the question the
    # engine's settings ask, and there a run costs seconds.
    CELLS.append(("small", "initial", _where, _cache,
                  PEERS + [RS_DEFAULT] + (_opt if _where == "tmpfs" else []),
                  [] if _where == "tmpfs" else _opt))
    for _case in ("noop", "changed"):
        CELLS.append(("small", _case, _where, _cache, ["rsync -a", RS_DEFAULT], _opt))
for _wl in ("big", "empty", "usr"):
    for _where, _cache in ([("tmpfs", "warm")] if _wl == "empty" else
                           [("tmpfs", "warm"), ("disk", "warm"), ("disk", "cold")]):
        if _wl == "empty":  # target 6 compares with rsync; cp and tar if time allows
            CELLS.append((_wl, "initial", _where, _cache, ["rsync -a", RS_DEFAULT],
                          ["tar | tar", "cp -a", "ringsync threads/inline"]))
        else:
            CELLS.append((_wl, "initial", _where, _cache, PEERS + [RS_DEFAULT],
                          ["ringsync threads/inline"]))
# Whole cells that run only if the budget allows (no target of the issue depends on them).
OPTIONAL_CELLS = {("usr", "initial", "tmpfs", "warm"), ("usr", "initial", "disk", "warm"),
                  ("usr", "initial", "disk", "cold")}

# Seconds per run, preparation and verification included, measured on this machine under a
# load average of 5-15 (other engineers' builds); the budget scales them by what it sees.
GUESS = {
    ("small", "initial", "tmpfs", "warm"): {
        "rsync -a": 7.5, "cp -a": 5, "tar | tar": 4.5, RS_DEFAULT: 4.5, "ringsync threads/inline": 7,
        "ringsync uring/pool": 5.5, "ringsync uring/auto": 4.5, "ringsync threads/pool": 9,
        "ringsync threads/auto": 7.5},
    ("small", "noop", "tmpfs", "warm"): {"rsync -a": 1.2, RS_DEFAULT: 1.2, "ringsync uring/pool": 3,
                                         "ringsync threads/pool": 2},
    ("small", "changed", "tmpfs", "warm"): {"rsync -a": 2.5, RS_DEFAULT: 2, "ringsync uring/pool": 3,
                                            "ringsync threads/pool": 3.5},
    ("small", "initial", "disk", "warm"): {"rsync -a": 14, "cp -a": 10, "tar | tar": 8.5, RS_DEFAULT: 8.5,
                                           "ringsync threads/inline": 15, "ringsync uring/pool": 11},
    ("small", "noop", "disk", "warm"): {"rsync -a": 2, RS_DEFAULT: 2, "ringsync uring/pool": 4},
    ("small", "changed", "disk", "warm"): {"rsync -a": 4, RS_DEFAULT: 4, "ringsync uring/pool": 5},
    # cold: a tenth of the files, each read a disk round trip
    ("small", "initial", "disk", "cold"): {"rsync -a": 14, "cp -a": 18, "tar | tar": 15, RS_DEFAULT: 5,
                                           "ringsync threads/inline": 9, "ringsync uring/pool": 6},
    ("small", "noop", "disk", "cold"): {"rsync -a": 4, RS_DEFAULT: 3},
    ("small", "changed", "disk", "cold"): {"rsync -a": 5, RS_DEFAULT: 4},
    ("big", "initial", "tmpfs", "warm"): {"rsync -a": 11, "cp -a": 10, "tar | tar": 9, RS_DEFAULT: 6,
                                          "ringsync threads/inline": 6},
    ("big", "initial", "disk", "warm"): {"rsync -a": 17, "cp -a": 8, "tar | tar": 15, RS_DEFAULT: 7,
                                         "ringsync threads/inline": 7},
    ("big", "initial", "disk", "cold"): {"rsync -a": 15, "cp -a": 12, "tar | tar": 19, RS_DEFAULT: 12,
                                         "ringsync threads/inline": 12},
    ("empty", "initial", "tmpfs", "warm"): {"rsync -a": 135, "cp -a": 165, "tar | tar": 115,
                                            RS_DEFAULT: 95, "ringsync threads/inline": 135},
    ("usr", "initial", "tmpfs", "warm"): {"rsync -a": 9, "cp -a": 15, "tar | tar": 4.5, RS_DEFAULT: 4.5,
                                          "ringsync threads/inline": 7.5},
    ("usr", "initial", "disk", "warm"): {"rsync -a": 19, "cp -a": 19, "tar | tar": 6, RS_DEFAULT: 10,
                                         "ringsync threads/inline": 10},
    ("usr", "initial", "disk", "cold"): {"rsync -a": 92, "cp -a": 143, "tar | tar": 95, RS_DEFAULT: 33,
                                         "ringsync threads/inline": 62},
}
# Workloads whose runs take minutes: fewer rounds (--long-runs), said in the report.
LONG = {"big", "empty"}


class Budget:
    """Chooses, at the start of each cell, which optional methods fit in the time budget: the
    core methods of every remaining cell are reserved first (they always run, even if that
    overruns), then this cell's optional methods are added in order while they fit. Estimates are
    GUESS scaled by the median ratio of measured to guessed time of the runs so far."""

    def __init__(self, minutes, runs, long_runs, unlimited, active):
        self.active = active  # the workloads this run measures
        self.budget = minutes * 60
        self.runs = runs
        self.long_runs = long_runs
        self.unlimited = unlimited
        self.ratios = []
        self.decisions = {}  # cell -> (methods run, methods dropped)

    def guess(self, cell, method):
        g = GUESS.get(cell, {})
        return g.get(method, 1.6 * g.get(RS_DEFAULT, 5))

    def runs_of(self, cell):
        return self.long_runs if cell[0] in LONG else self.runs

    def factor(self):
        return statistics.median(self.ratios) if self.ratios else 1.0

    def need(self, cell, methods):
        return sum(self.guess(cell, m) for m in methods) * self.runs_of(cell) * self.factor()

    def choose(self, index, available=None):
        wl, case, where, cache, core, optional = CELLS[index]
        cell = (wl, case, where, cache)
        optional = [m for m in optional if available is None or m in available]
        core = [m for m in core if available is None or m in available]
        if self.unlimited:
            NOTES.setdefault("plan", {})[" | ".join(cell)] = [core + optional, []]
            return core + optional
        elapsed = time.monotonic() - T0
        reserve = 60 + sum(self.need(c[:4], c[4]) for c in CELLS[index + 1:]
                           if c[0] in self.active and c[:4] not in OPTIONAL_CELLS)
        if cell in OPTIONAL_CELLS and elapsed + reserve + self.need(cell, core) > self.budget:
            NOTES.setdefault("plan", {})[" | ".join(cell)] = [[], core + optional]
            log(f"budget: {wl}/{case} {where} {cache}: skipped (elapsed {elapsed / 60:.1f} min, "
                f"this cell ~{self.need(cell, core) / 60:.1f} min, core of the rest ~{reserve / 60:.1f} min)")
            return []
        reserve += self.need(cell, core)
        chosen, dropped = [], []
        for m in optional:
            if elapsed + reserve + self.need(cell, chosen + [m]) <= self.budget:
                chosen.append(m)
            else:
                dropped.append(m)
        self.decisions[cell] = (core + chosen, dropped)
        NOTES.setdefault("plan", {})[" | ".join(cell)] = [core + chosen, dropped]
        log(f"budget: {wl}/{case} {where} {cache}: {len(core + chosen)} methods"
            + (f", dropped {', '.join(dropped)}" if dropped else "")
            + f" (elapsed {elapsed / 60:.1f} min, core of the remaining cells ~{reserve / 60:.1f} min, "
              f"scale {self.factor():.2f})")
        return core + chosen

    def observe(self, cell, method, seconds):
        self.ratios.append(seconds / self.guess(cell, method))



CONFIGS = [("tmpfs", "warm"), ("disk", "warm"), ("disk", "cold")]
STRACE_METHODS = PEERS + ["ringsync uring/inline", "ringsync uring/pool", "ringsync threads/inline"]


def cell_index(workload, case, where, cache):
    return next(i for i, c in enumerate(CELLS) if c[:4] == (workload, case, where, cache))
