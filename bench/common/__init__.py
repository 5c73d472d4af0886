"""What the benchmark runners in bench/ share (Python 3 standard library only).

bench/ is on sys.path (the runners run as scripts), so the packages import as `common`, `sync`,
`tftp` and `engine`. load: the load-average sampler; proc: logging, commands, the git state and
the Release build; stats: min / median / max and number formatting; report: the machine rows
and the prose files a report includes; plot: gnuplot bar charts.
"""
