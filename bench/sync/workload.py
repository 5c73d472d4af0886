"""The workloads (trees of small files, large files, a copy of /usr/share), walking and verifying
a copy against its source, and changing a tenth of the files for the re-sync case."""

import hashlib
import os
import subprocess
import time

from common.proc import sh
from .disk import rm_rf


def make_small_tree(path, dirs, files, size):
    """dirs x files regular files of `size` bytes, each with different content."""
    if os.path.exists(os.path.join(path, ".complete")):
        return
    rm_rf(path)
    pool = os.urandom(1 << 20)
    n = 0
    for d in range(dirs):
        dpath = os.path.join(path, f"d{d:03d}")
        os.makedirs(dpath)
        for i in range(files):
            fd = os.open(os.path.join(dpath, f"f{i:05d}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            if size:
                off = (n * 1031) % (len(pool) - size)
                os.write(fd, n.to_bytes(8, "little") + pool[off + 8:off + size])
            os.close(fd)
            n += 1
    open(os.path.join(path, ".complete"), "w").close()


def make_big_files(path, count, size):
    if os.path.exists(os.path.join(path, ".complete")):
        return
    rm_rf(path)
    os.makedirs(path)
    pool = bytearray(os.urandom(16 << 20))
    chunk = 1 << 20
    for k in range(count):
        with open(os.path.join(path, f"big{k}.bin"), "wb") as f:
            for off in range(0, size, chunk):
                i = off // chunk
                start = (i * 4099 + k * 65537) % (len(pool) - chunk)
                block = bytearray(pool[start:start + chunk])
                block[:16] = k.to_bytes(8, "little") + i.to_bytes(8, "little")  # every MiB differs
                f.write(block[:min(chunk, size - off)])
    open(os.path.join(path, ".complete"), "w").close()


def make_usr_copy(path, source):
    if os.path.exists(path + ".complete"):
        return
    rm_rf(path)
    sh(["cp", "-a", source, path])
    open(path + ".complete", "w").close()


def walk(path):
    """Counts of (regular files, directories, symlinks, other) below path, and the list of
    non-directory entries relative to path."""
    counts = [0, 0, 0, 0]
    names = []
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(path, rel)) as it:
            for e in it:
                r = os.path.join(rel, e.name)
                if e.is_symlink():
                    counts[2] += 1
                    names.append(r)
                elif e.is_dir():
                    counts[1] += 1
                    stack.append(r)
                elif e.is_file():
                    counts[0] += 1
                    names.append(r)
                else:
                    counts[3] += 1
                    names.append(r)
    return tuple(counts), names


class VerifyError(Exception):
    pass


def digest(path, size, full):
    """Hash of a file: all of it if small or asked, else three 1 MiB windows."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        if full or size <= 4 << 20:
            while b := f.read(4 << 20):
                h.update(b)
        else:
            for off in (0, size // 2, size - (1 << 20)):  # the first round compares in full (cmp)
                f.seek(off)
                h.update(f.read(1 << 20))
    return h.digest()


def verify(src, dst, counts, sample, method, full=False, check_mtime=True):
    """Raises VerifyError unless dst has src's entry counts and the sampled entries match in
    type, size, mode, content and (second-resolution for tar, whose format keeps whole seconds)
    modification time."""
    got, _ = walk(dst)
    skip = {".complete"}
    exp = counts
    if got != exp:
        raise VerifyError(f"{method}: {dst} has (files, dirs, symlinks, other) = {got}, "
                          f"source has {exp}")
    for rel in sample:
        if rel in skip:
            continue
        s, d = os.path.join(src, rel), os.path.join(dst, rel)
        try:
            ss, ds = os.lstat(s), os.lstat(d)
        except FileNotFoundError as e:
            raise VerifyError(f"{method}: {e}")
        if (ss.st_mode, ss.st_size) != (ds.st_mode, ds.st_size):
            raise VerifyError(f"{method}: {rel}: mode/size {oct(ds.st_mode)}/{ds.st_size}, "
                              f"source {oct(ss.st_mode)}/{ss.st_size}")
        if check_mtime and not os.path.islink(s):
            if method == "tar | tar":
                ok = ss.st_mtime_ns // 10**9 == ds.st_mtime_ns // 10**9
            else:
                ok = ss.st_mtime_ns == ds.st_mtime_ns
            if not ok:
                raise VerifyError(f"{method}: {rel}: mtime {ds.st_mtime_ns}, source {ss.st_mtime_ns}")
        if os.path.islink(s):
            if os.readlink(s) != os.readlink(d):
                raise VerifyError(f"{method}: {rel}: symlink target differs")
        elif os.path.isfile(s) and full and ss.st_size > 4 << 20:
            if subprocess.run(["cmp", "-s", s, d]).returncode != 0:
                raise VerifyError(f"{method}: {rel}: content differs from the source (cmp)")
        elif os.path.isfile(s) and digest(s, ss.st_size, False) != digest(d, ds.st_size, False):
            raise VerifyError(f"{method}: {rel}: content differs from the source")


def mutate(src, names, fraction_index, tenth=10):
    """Changes every tenth file (a different tenth each round): new content of the same size and
    a new mtime, as an editor or a build would. Returns the changed names."""
    changed = names[fraction_index % tenth::tenth]
    now = time.time_ns()
    for k, rel in enumerate(changed):
        p = os.path.join(src, rel)
        size = os.path.getsize(p)
        with open(p, "r+b") as f:
            f.write(os.urandom(size))
        t = now + k  # distinct, and newer than anything before
        os.utime(p, ns=(t, t))
    return changed
