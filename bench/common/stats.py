"""min / median / max of repeated runs, and numbers as the reports print them."""

import statistics

NAN = float("nan")


def summary(values):
    return min(values), statistics.median(values), max(values)


def fmt(x, digits=3):
    """Three significant digits, whole numbers from 100 up."""
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def load_range(loads):
    """The load-average samples as the reports' machine tables give them."""
    return (f"min {min(loads):.2f}, median {statistics.median(loads):.2f}, "
            f"max {max(loads):.2f}")
