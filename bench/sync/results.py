"""The runs measured so far (every run's record, failures, notes for the report), saving them for
`--report-only`, and looking them up."""

import json
import statistics
import time

from common.proc import T0, log
from . import config as cfg


RESULTS = []      # one dict per run
FAILURES = {}     # (workload, where, cache, method) -> first error
NOTES = {}        # free-form facts the report states (sizes chosen, skipped cases)


PARTIAL_META = {}


def save_partial():
    """Saves what has been measured so far, so that `--report-only` can write a report from an
    interrupted run."""
    if PARTIAL_META:
        meta = dict(PARTIAL_META, loads=PARTIAL_META["sampler"].samples,
                    elapsed=time.monotonic() - T0, partial=True)
        del meta["sampler"]
        save_raw(meta)


def save_raw(meta):
    with open(cfg.RAW, "w") as f:
        json.dump({"results": RESULTS, "failures": {" | ".join(k): v for k, v in FAILURES.items()},
                   "notes": NOTES, "meta": meta}, f, indent=1)


def record(workload, case, where, cache, method, rnd, rec):
    rec = dict(rec, workload=workload, case=case, where=where, cache=cache, method=method, round=rnd)
    RESULTS.append(rec)
    with open(cfg.RUNS_LOG, "a") as f:
        f.write(json.dumps(rec) + "\n")


def fail(key, err):
    FAILURES.setdefault(key, str(err))
    log(f"FAILED: {' / '.join(key)}: {err}")



def runs_of(workload, case, where, cache, method, field="wall"):
    return [r[field] for r in RESULTS if (r["workload"], r["case"], r["where"], r["cache"],
                                          r["method"]) == (workload, case, where, cache, method)
            and r.get(field) is not None]


def runs_of_any(workload, case, where, cache):
    return any((r["workload"], r["case"], r["where"], r["cache"]) == (workload, case, where, cache)
               for r in RESULTS)


def med(workload, case, where, cache, method, field="wall"):
    v = runs_of(workload, case, where, cache, method, field)
    return statistics.median(v) if v else None
