"""Running one measurement (a C++ benchmark program printing a JSON line) and what every section's
report shares: the separation note, failed rows, bar colours and plots."""

import json
import os
import subprocess

from common.plot import BarStyle, bars
from common.proc import log
from common.stats import fmt, summary
from . import config as cfg
from .config import BUILD, FAILURES

STYLE = BarStyle(per_bar=40, extra=200, height=520, fill=0.6, rotate=-45, bmargin=9, rmargin=12)


def run_one(cmd, label):
    """Runs one measurement; its JSON line, or None (recorded in FAILURES) if it failed. A
    failing method (e.g. a copy that does not verify) must not stop the other measurements."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
        FAILURES.setdefault(label, err)
        log(f"FAILED: {label}: {err}")
        return None
    rec = json.loads(p.stdout.strip().splitlines()[-1])
    with open(os.path.join(BUILD, "engine-runs.jsonl"), "a") as f:  # every run, for later study
        f.write(json.dumps(rec) + "\n")
    return rec


def spread_note(per, best, higher_is_better):
    """A Decision line saying whether the fastest method's runs separate from the others'."""
    lo, _, hi = summary(per[best])
    overlap = [k for k, v in per.items() if k != best and v and min(v) <= hi and max(v) >= lo]
    if not overlap:
        return [f"- Separation: no other method's runs overlap the fastest's range ({fmt(lo)}–{fmt(hi)})."]
    return [f"- Separation: the runs of {len(overlap)} other method(s) overlap the fastest's range "
            f"({lo:.3g}–{hi:.3g}): {', '.join(overlap[:6])}{', ...' if len(overlap) > 6 else ''}. "
            f"This run does not separate them; a quiet re-run should."]


def failed_row(label, columns):
    return f"| {label} | 0 | FAILED: {FAILURES.get(label, '?')} |" + " |" * (columns - 3)



def plot(name, title, ylabel, rows, logscale=False):
    """rows: (label, min, median, max). Bars at the median, error bars from min to max."""
    return bars(name, title, ylabel, rows, color_of, STYLE, BUILD, cfg.IMG, logscale)


def color_of(label):
    """Bar colour by kind of method: baselines grey, inline green, pool orange, ring blue,
    registered buffers purple, kernel-side copies teal."""
    for key, rgb in [("direct", 0x888888), ("read/write", 0x888888), ("inline", 0x228833),
                     ("pool", 0xee7733), ("ring_fixed", 0xaa3377), ("ring", 0x4477aa)]:
        if key in label:
            return rgb
    return 0x009988
