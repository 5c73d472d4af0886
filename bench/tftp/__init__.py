"""The TFTP benchmark (issue 4), run by bench/run_tftp.py.

config: paths, servers, constants; procfs, cgroup: what the kernel says about a server; servers:
starting them and sampling their memory; clients: running a client; rounds: rounds within the
time budget; single, concurrent, loss: the three sections (measure and report); plots: figures
and charts; report: the Markdown report, which ends with notes.md; main: the command line.
"""
