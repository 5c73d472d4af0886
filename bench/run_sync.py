#!/usr/bin/env python3
"""Runs the ringsync benchmarks (issue 3, "Speed") side by side with rsync, cp and tar, and writes
docs/benchmarks-sync.md (tables, targets, analysis) and docs/img/sync-*.png (plots).

  bench/run_sync.py              full run (about 30 minutes on these 2-vCPU machines)
  bench/run_sync.py --quick      smoke test: tiny trees, one run each (1-2 minutes)
  bench/run_sync.py --report-only   rewrite the report from the last run's saved results

Builds ringsync in Release into build-bench-sync/ (tests and benchmarks off), makes the
workloads once under /dev/shm/ringkit-bench/sync (tmpfs) and /var/tmp/ringkit-bench/sync (ext4
here; the file-system type is recorded) and times, per workload and file system:

  small    100 000 x 1 KiB files in 100 directories: initial copy, a no-op re-sync, and a
           re-sync after 10% of the files changed (new content, same size, new mtime)
  big      4 x 1 GiB files (scaled down, and said so, if /dev/shm or memory is too small)
  usr      a copy of /usr/share (made once into the workload directory)
  empty    1 000 000 empty files (tmpfs only): time and peak memory of the process tree
  wide     one directory of 100 000 empty files, and one of 1 000 (tmpfs only): peak memory per
           directory entry, first copy and no-op re-sync, ringsync and rsync only
           (`--only wide` runs just this, in about a minute)

Peers: `rsync -a`, `cp -a`, `tar -C src -cf - . | tar -C dst -xf -`, and `ringsync -a` with each
backend (RINGKIT_BACKEND=uring|threads) and cheap-calls policy (RINGKIT_CHEAP_CALLS=inline|pool|
auto). Every measurement is repeated (5 runs) with the methods interleaved (round 1 of every
method, then round 2, ..., each round starting at the next method) so that background load
spreads over all of them; reported as min / median / max, with ratios of medians. Every copy is
checked (entry counts, and content, size, mode and mtime of a sample); a method whose copy does
not verify is reported FAILED and the runner exits non-zero. Syscalls per copied file come from
`strace -c -f` on a 10 000-file tree; where the time goes from `perf` (if installed).
Cold-cache runs drop the page cache before each run (needs root); tmpfs cannot be evicted, so
cold runs are on the disk file system only. Workloads are removed at the end (--keep-data keeps
them). Python 3 standard library only; plots need gnuplot.
"""

# The runner lives in the package bench/sync/ (importable because bench/ is on sys.path when this
# script runs); this file keeps the command that docs and notes name.
from sync.main import main

if __name__ == "__main__":
    main(__doc__)
