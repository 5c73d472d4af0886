"""The engine benchmarks, run by bench/run_engine.py.

config: paths and what the runs recorded; measure: one measurement and what the sections'
reports share; cheap, statx, filecopy: the three sections (measure and report); main: the
build, the command line and the report, which ends with notes.md.
"""
