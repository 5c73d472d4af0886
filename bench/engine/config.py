"""Where the engine benchmarks build, keep their workloads and write their report; what the runs
recorded. main() sets IMG (beside --out) and BUDGET_S (--budget-min); the other modules read
them as `config.NAME` at the time of use."""

import os


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build-bench")
BIN = os.path.join(BUILD, "bin")
DOCS = os.path.join(ROOT, "docs")
IMG = os.path.join(DOCS, "img")
TMPFS_DIR = "/dev/shm/ringkit-bench"
DISK_DIR = "/var/tmp/ringkit-bench"
BUDGET_S = 19 * 60
CPU = {}  # (bench, where, cache, label) -> CPU seconds of each run, all threads of the process
FAILURES = {}  # label -> the first error a run of it printed
