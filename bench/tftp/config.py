"""Where the TFTP benchmark builds, serves its files from and writes its report, the servers it
compares and their binaries. main() sets IMG (beside --out); the other modules read it as
`config.IMG` at the time of use."""

import os


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build-bench-tftp")
BIN = os.path.join(BUILD, "bin")
CLIENT = os.path.join(BIN, "ringtftp")
DOCS = os.path.join(ROOT, "docs")
IMG = os.path.join(DOCS, "img")
WORK = "/dev/shm/ringkit-bench-tftp"
SRV = os.path.join(WORK, "srv")
OUT = os.path.join(WORK, "out")
HPA = "/usr/sbin/in.tftpd"
ATFTPD = "/opt/ringkit-peers/atftpd/usr/sbin/atftpd"
CG_CPU = "/sys/fs/cgroup/cpuacct"
CG_MEM = "/sys/fs/cgroup/memory"
CG_PREFIX = "rkbench-tftp-"
# Transfer ports of the servers that can be given a range (ringtftpd, tftpd-hpa: -R), below the
# ephemeral range (32768-60999 here) that the clients' sockets take theirs from. On loopback
# 10 000 clients and 10 000 transfers share one machine; Linux gives up on bind(port 0) once
# about half the ephemeral range is in use, which a real server, whose clients are other
# machines, never meets. atftpd has no such option: its transfers share the ephemeral range.
PORT_RANGE = "12000:31999"
SERVERS = ["ringtftpd", "atftpd", "tftpd-hpa"]
WINDOWED = {"ringtftpd": True, "atftpd": True, "tftpd-hpa": False}  # RFC 7440 support
COLORS = {"ringtftpd": 0x4477aa, "atftpd": 0xee7733, "tftpd-hpa": 0x888888}
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
TICK = os.sysconf("SC_CLK_TCK")
MB = 1e6  # throughput in MB/s (10^6 bytes), as ringtftp bench reports it
