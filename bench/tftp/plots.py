"""Numbers and clustered bar charts (one cluster per point, one bar per server) of the report."""

import os
import shutil
import subprocess

from common import stats
from . import config as cfg
from .config import BUILD, COLORS


def fmt(x, digits=3):
    """A figure of the report; n/a for a run that gave none."""
    if x is None or x != x:
        return "n/a"
    return stats.fmt(x, digits)


def plot_groups(name, title, ylabel, groups, series, vals, logscale=False):
    """Clustered bars: one cluster per group, one bar per series at the median, whiskers min-max.
    vals: (group, series) -> (min, median, max); missing values leave a gap."""
    if not shutil.which("gnuplot") or not vals:
        return None
    os.makedirs(cfg.IMG, exist_ok=True)
    dat = os.path.join(BUILD, f"{name}.dat")
    with open(dat, "w") as f:
        for g in groups:
            row = [f'"{g}"']
            for s in series:
                v = vals.get((g, s))
                ok = v and all(x == x and x is not None and (x > 0 or not logscale) for x in v)
                row += [f"{v[1]} {v[0]} {v[2]}" if ok else "? ? ?"]
            f.write(" ".join(row) + "\n")
    png = os.path.join(cfg.IMG, f"{name}.png")
    width = max(800, 28 * len(groups) * len(series) + 250)
    plots = ", ".join(
        f'"{dat}" using {2 + 3 * i}:{3 + 3 * i}:{4 + 3 * i}{":xtic(1)" if i == 0 else ""} '
        f'title "{s}" lc rgb "#{COLORS[s]:06x}"' for i, s in enumerate(series))
    script = f"""
set terminal pngcairo noenhanced size {width},520 font ",10"
set output "{png}"
set title "{title}"
set ylabel "{ylabel}"
set datafile missing "?"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set xtics rotate by -45 left
set grid ytics
set key top left
set bmargin 7
{"set logscale y" if logscale else "set yrange [0:*]"}
plot {plots}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=False)
    return os.path.relpath(png, os.path.dirname(cfg.IMG))
