"""Running commands from a benchmark runner: the log line, checked commands, the file-system
type, the git state measured, and the Release build into a build-bench*/ directory."""

import subprocess
import sys
import time

T0 = time.monotonic()  # the runners import this first: their clock starts here


def log(msg):
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def fs_type(path):
    out = subprocess.run(["df", "--output=fstype", path], capture_output=True, text=True)
    lines = out.stdout.split()
    return lines[-1] if lines else "?"


def head_rev(root):
    return subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip() or "?"


def dirty_sources(root):
    """`git status --porcelain` of src/ and include/: the uncommitted engine and program code."""
    return subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "src", "include"],
                          capture_output=True, text=True).stdout


def git_state(root, dirty_note=""):
    """The commit measured, and whether src/ or include/ had uncommitted changes at the time."""
    dirty = dirty_sources(root).strip()
    return f"commit {head_rev(root)}" + (" + uncommitted changes in src/ or include/" + dirty_note
                                         if dirty else "")


def cmake_release(src, bdir, targets, log_path, shown_log, bench=False, ninja=False, jobs=True):
    """Configures src into bdir in Release (tests off; the C++ benchmarks if `bench`) and builds
    `targets`; the build's output goes to log_path. Exits naming shown_log if the build fails."""
    sh(["cmake", "-S", src, "-B", bdir] + (["-G", "Ninja"] if ninja else [])
       + ["-DCMAKE_BUILD_TYPE=Release", "-DRINGKIT_BUILD_TESTS=OFF",
          f"-DRINGKIT_BUILD_BENCH={'ON' if bench else 'OFF'}"], stdout=subprocess.DEVNULL)
    b = subprocess.run(["cmake", "--build", bdir] + (["-j2"] if jobs else []) + ["--target"] + targets,
                       capture_output=True, text=True)
    with open(log_path, "w") as f:
        f.write(b.stdout + b.stderr)
    if b.returncode != 0:
        sys.exit(b.stdout[-3000:] + b.stderr[-3000:] + f"\nbuild failed ({shown_log})")


def gxx_version():
    return subprocess.run(["g++", "-dumpfullversion"], capture_output=True, text=True).stdout.strip()
