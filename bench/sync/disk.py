"""The file systems the copies run on: the ext4 area (a loop-mounted image when the disk is
mounted with online discard), the page cache, and removing trees."""

import os
import shutil
import subprocess

from common.proc import log, sh


def rm_rf(path):
    if os.path.lexists(path):
        subprocess.run(["rm", "-rf", path], check=True)


class DiskArea:
    """Where the ext4 runs happen. If the file system holding DISK_DIR is mounted with online
    `discard` (this machine's root ext4 is), every freed extent costs a synchronous discard:
    deleting a 100 000-file copy that has been written back took minutes (286 unlinks/s were
    measured), which would swamp the untimed preparation between runs and the clean-up. Then a
    sparse ext4 image in the parent directory, on the same disk, is loop-mounted (direct I/O, so
    no double caching; default mount options, no discard) at DISK_DIR instead; otherwise
    DISK_DIR is used as it is. `describe` says which, for the report."""

    def __init__(self, path, size_gib):
        self.path = path
        self.image = os.path.join(os.path.dirname(path), os.path.basename(path) + "-ext4.img")
        self.loop = None
        parent = os.path.dirname(path)
        os.makedirs(parent, exist_ok=True)
        opts = mount_options(parent)
        self.describe = f"ext4 on {mount_source(parent)}"
        if "discard" in opts.split(","):
            os.makedirs(path, exist_ok=True)
            if mount_source(path) != mount_source(parent):  # left mounted by an interrupted run
                subprocess.run(["umount", path], check=False)
            free = shutil.disk_usage(parent).free
            size = min(size_gib << 30, int(free * 0.7)) >> 20 << 20
            rm_rf(self.image)
            with open(self.image, "wb") as f:
                f.truncate(size)
            sh(["mkfs.ext4", "-q", "-F", "-i", "8192", "-E", "lazy_itable_init=0,lazy_journal_init=0",
                self.image])
            self.loop = sh(["losetup", "--direct-io=on", "--show", "-f", self.image],
                           capture_output=True).stdout.strip()
            sh(["mount", self.loop, path])
            self.describe = (f"a {size / 2**30:.0f} GiB ext4 image loop-mounted from {parent} "
                             f"({self.loop}, direct I/O, mount options "
                             f"`{mount_options(path)}`): {parent} is ext4 on "
                             f"{mount_source(parent)} mounted with `{opts}`, whose online discard "
                             f"makes every deletion between runs a synchronous discard")
            log(f"disk: {self.describe}")
        else:
            os.makedirs(path, exist_ok=True)

    def close(self):
        if self.loop:
            subprocess.run(["umount", self.path], check=False)
            subprocess.run(["losetup", "-d", self.loop], check=False)
            os.remove(self.image)
            os.rmdir(self.path)
            self.loop = None


def mount_entry(path):
    """The /proc/mounts line of the file system holding path (the longest mount point prefix)."""
    path = os.path.realpath(path)
    best = None
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, typ, opts = line.split()[:4]
            mnt = mnt.replace("\\040", " ")
            if path == mnt or path.startswith(mnt.rstrip("/") + "/"):
                if best is None or len(mnt) >= len(best[1]):
                    best = (dev, mnt, typ, opts)
    return best or ("?", "/", "?", "")


def mount_options(path):
    return mount_entry(path)[3]


def mount_source(path):
    return mount_entry(path)[0]


def drop_caches():
    sh(["sync"])
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def warm(src):
    """Reads a whole tree (data and metadata) into the page cache."""
    p1 = subprocess.Popen(["tar", "-C", src, "-cf", "-", "."], stdout=subprocess.PIPE)
    p2 = subprocess.Popen(["cat"], stdin=p1.stdout, stdout=subprocess.DEVNULL)
    p1.stdout.close()
    p2.wait()
    p1.wait()
