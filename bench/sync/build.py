"""Builds ringsync in Release for the benchmark, and the versions of what it is compared with."""

import os
import re
import subprocess

from common import proc
from common.proc import log, sh
from . import config as cfg
from .config import BUILD, ROOT
from .disk import rm_rf


def versions():
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            return "?"
    rs = re.search(r"version (\S+)", first(["rsync", "--version"]))
    cp = first(["cp", "--version"]).split()[-1]
    tar = first(["tar", "--version"]).split()[-1]
    return f"rsync {rs.group(1) if rs else '?'}, cp (coreutils) {cp}, GNU tar {tar}"


def git_state():
    return proc.git_state(ROOT, " (another engineer's work in progress)")


def build(source):
    """Builds ringsync in Release. source "head": the last commit, exported with `git archive`
    into build-bench-sync/src-head (other engineers' uncommitted edits in the shared checkout are
    not measured, and cannot break the build mid-edit); "worktree": the checkout as it is."""
    if source == "head":
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        src = os.path.join(BUILD, "src-head")
        bdir = os.path.join(BUILD, "head")
        rm_rf(src)
        os.makedirs(src)
        archive = subprocess.Popen(["git", "-C", ROOT, "archive", "HEAD"], stdout=subprocess.PIPE)
        sh(["tar", "-x", "-C", src], stdin=archive.stdout)
        archive.wait()
        cfg.SOURCE = f"commit {rev} (exported with git archive; uncommitted edits not included)"
    else:
        src, bdir = ROOT, BUILD
        cfg.SOURCE = git_state()
    log(f"building ringsync in Release from {cfg.SOURCE} into {os.path.relpath(bdir, ROOT)}/")
    proc.cmake_release(src, bdir, ["ringsync"], os.path.join(BUILD, "build.log"),
                       "build-bench-sync/build.log", ninja=True, jobs=False)
    cfg.RINGSYNC = os.path.join(bdir, "bin", "ringsync")
    with open(os.path.join(bdir, "SOURCE.txt"), "w") as f:  # for --skip-build
        f.write(cfg.SOURCE)
