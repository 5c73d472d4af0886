#!/usr/bin/env python3
"""Runs the engine benchmarks and writes docs/benchmarks.md (tables) and docs/img/*.png (plots).

  bench/run_engine.py            full run (under 20 minutes: the copy grid adapts to the speed seen)
  bench/run_engine.py --quick    smoke test: tiny sizes, one run each (about a minute)

Builds cheap_calls_bench, statx_tree and file_copy in Release into build-bench/ (tests off),
makes the workloads once under /dev/shm/ringkit-bench (tmpfs) and /var/tmp/ringkit-bench (ext4
here; the file-system type is recorded), runs every measurement several times with the methods
interleaved (run 1 of every method, then run 2, ...) so that background load spreads over all of
them, and reports min / median / max and the ratio of each median to the baseline's.
Cold-cache runs drop the page cache first (needs root); tmpfs cannot be evicted, so cold runs
are made on the disk file system only. The workload directories are removed at the end
(--keep-data keeps them). Python 3 standard library only; plots need gnuplot.
"""

# The runner lives in the package bench/engine/ (importable because bench/ is on sys.path when
# this script runs); this file keeps the command that docs and notes name.
from engine.main import main

if __name__ == "__main__":
    main(__doc__)
