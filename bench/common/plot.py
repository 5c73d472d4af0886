"""Bar charts with gnuplot (if installed): one bar per row at the median, whiskers min-max."""

import os
import shutil
import subprocess


class BarStyle:
    """What differs between the runners' charts: size, margins, label angle, fill."""

    def __init__(self, per_bar, extra, height, fill, rotate, bmargin, rmargin):
        self.per_bar, self.extra, self.height = per_bar, extra, height
        self.fill, self.rotate, self.bmargin, self.rmargin = fill, rotate, bmargin, rmargin


def bars(name, title, ylabel, rows, color_of, style, build, img, logscale=False):
    """rows: (label, min, median, max). Writes build/NAME.dat and img/NAME.png; returns the
    png's path relative to the report beside img/, or None without gnuplot or rows."""
    if not shutil.which("gnuplot") or not rows:
        return None
    os.makedirs(img, exist_ok=True)
    dat = os.path.join(build, f"{name}.dat")
    with open(dat, "w") as f:
        for i, (label, lo, med, hi) in enumerate(rows):
            f.write(f'{i} "{label}" {med} {lo} {hi} {color_of(label)}\n')
    png = os.path.join(img, f"{name}.png")
    width = max(800, style.per_bar * len(rows) + style.extra)
    script = f"""
set terminal pngcairo noenhanced size {width},{style.height} font ",10"
set output "{png}"
set title "{title}"
set ylabel "{ylabel}"
set style fill solid {style.fill} border -1
set boxwidth 0.7
set xtics rotate by {style.rotate} left
set grid ytics
set key off
set bmargin {style.bmargin}
set rmargin {style.rmargin}
set offsets 0.5, 0.5, 0, 0
{"set logscale y" if logscale else "set yrange [0:*]"}
plot "{dat}" using 1:3:6:xtic(2) with boxes lc rgb variable, \\
     "{dat}" using 1:3:4:5 with yerrorbars lc rgb "black" pt 0
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=False)
    return os.path.relpath(png, os.path.dirname(img))
