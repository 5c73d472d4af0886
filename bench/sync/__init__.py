"""The ringsync benchmark (issue 3), run by bench/run_sync.py.

config: paths and settings; plan: methods, cells and the time budget; commands: command lines
and timing a pipeline; disk, workload: file systems, trees, verification; rounds: the
measurement loops; probes: strace and perf; results: runs recorded and saved; tables, sections,
report: the Markdown report, which ends with analysis.md; build, main: the build and the command
line.
"""
