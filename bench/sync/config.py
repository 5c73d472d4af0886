"""Where the ringsync benchmark builds, keeps its workloads and writes its report. main() changes
the settings marked mutable (--out, --tag, --skip-build); the other modules read them as
`config.NAME` at the time of use."""

import os


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build-bench-sync")
DOCS = os.path.join(ROOT, "docs")

# mutable
RINGSYNC = os.path.join(BUILD, "bin", "ringsync")
IMG = os.path.join(DOCS, "img")
REPORT = os.path.join(DOCS, "benchmarks-sync.md")
RAW = os.path.join(BUILD, "sync-results.json")
RUNS_LOG = os.path.join(BUILD, "sync-runs.jsonl")  # every run, appended as it ends
TMPFS_DIR = "/dev/shm/ringkit-bench/sync"
DISK_DIR = "/var/tmp/ringkit-bench/sync"
SOURCE = None  # what ringsync was built from, for the report (set by the build)
BUDGET = None  # the plan.Budget of this run
