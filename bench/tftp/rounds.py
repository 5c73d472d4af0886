"""Rounds of a section within the time budget, and what the sections record for the report."""

import statistics
import time

from common.proc import log


FAILURES = []  # (section, point, what happened, command)
CPU_SINGLE = {}  # single-download point -> median (wall s, server CPU s, client CPU s)


# ---------------------------------------------------------------------------------------------
# Time budget: rounds are added while the next one is predicted to fit before the section's
# deadline (a share of the whole budget; what one section leaves over goes to the next).

class Budget:
    def __init__(self, total_s, shares):
        self.t0 = time.monotonic()
        self.total_s = total_s
        self.deadlines = {}
        acc = 0.0
        for name, share in shares:
            acc += share
            self.deadlines[name] = acc

    def left(self, section):
        return self.t0 + self.deadlines[section] * self.total_s - time.monotonic()

    def over(self):
        return time.monotonic() - self.t0 > self.total_s


def rounds_loop(section, budget, runs_wanted, runs_min, body):
    """Calls body(round) for round 0, 1, ... up to runs_wanted; stops early (but not before
    runs_min) when the next round is not predicted to fit in the section's time. Returns
    (rounds done, note)."""
    done, durations = 0, []
    for r in range(runs_wanted):
        # Beyond the minimum, a round must fit in the section's time; below it one round is
        # enough once the whole run is already over its budget, so that the run still ends near
        # its budget. Not for the single downloads (they need their 5 runs) nor for the loss
        # section, whose 1% point is target (3): one draw of it ranged 99-200 MB/s across runs
        # (2026-11-21), and a late full run once reported the target missed on that one draw.
        late = (section not in ("single", "loss") and done >= 1 and budget.left(section) < 0
                and budget.over())
        if (done >= runs_min or late) and durations and budget.left(section) < statistics.median(durations):
            return done, (f"{done} of {runs_wanted} rounds: one round takes "
                          f"{statistics.median(durations):.0f} s and the section's time was up")
        t = time.monotonic()
        body(r)
        durations.append(time.monotonic() - t)
        done += 1
        log(f"{section}: round {done} of {runs_wanted} took {durations[-1]:.0f} s "
            f"({budget.left(section):.0f} s left in the section)")
    return done, ""
