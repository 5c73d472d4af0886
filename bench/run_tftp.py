#!/usr/bin/env python3
"""Runs the TFTP benchmarks and writes docs/benchmarks-tftp.md and docs/img/tftp-*.png.

  bench/run_tftp.py            full run (about 30 minutes; rounds adapt to the time left)
  bench/run_tftp.py --quick    smoke test: small files, few clients, one run each (1-2 minutes)

ringtftpd against tftpd-hpa (/usr/sbin/in.tftpd) and atftpd (0.8, unpacked under
/opt/ringkit-peers/atftpd), side by side in one run on this machine, every download made by the
same client, build/bin/ringtftp (and curl as a second client for one point):

  1. one 100 MiB download at blksize 512, 1428, 8192, 65464 x windowsize 1, 16, 64 on loopback
     (tftpd-hpa has no windowsize: windowsize 1 only, the rest n/a);
  2. 1 000 and 10 000 concurrent 1 MiB downloads (`ringtftp bench`, every download verified by
     size and XXH3): completion rate, aggregate throughput, completion-time p50/p99/max, server
     peak memory, memory growth per active transfer and server CPU seconds;
  3. 100 MiB at 1% and 5% loss, injected by the client (`ringtftp get --loss P --seed S`: it
     drops that fraction of the datagrams it sends and of those it receives), on loopback. netem
     would be the better tool, but this kernel is built without it (CONFIG_NET_SCH_NETEM unset).

Builds ringtftpd and ringtftp in Release into build-bench-tftp/ (tests and benchmarks off), makes
the files once under /dev/shm/ringkit-bench-tftp (tmpfs), runs every point several times with the
servers interleaved (round 1 of every point and server, then round 2, ...), and reports
min / median / max and ratios of medians. Every single download is compared with the source
file; `ringtftp bench` verifies each of its downloads itself. Each server runs in cgroups of its
own (cgroup v1 cpuacct and memory), so that its CPU time and peak memory include every process
it forks. Needs root (cgroups, /proc of the servers, RLIMIT_NOFILE raised to the hard limit for
10 000 clients).
Servers and workload files are removed at the end. Python 3 standard library only; plots need
gnuplot.
"""

# The runner lives in the package bench/tftp/ (importable because bench/ is on sys.path when this
# script runs); this file keeps the command that docs and notes name.
from tftp.main import main

if __name__ == "__main__":
    main(__doc__)
