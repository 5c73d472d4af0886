#!/usr/bin/env bash
# Builds ringkit and runs the whole test suite, as CI does:
#   1. a -Werror build, all tests (every engine test runs on both backends);
#   2. the backend-dependent tests again with RINGKIT_BACKEND=threads, with io_uring's deferred
#      task running off (RINGKIT_DEFER_TASKRUN=0), and with io_uring disabled by the
#      kernel.io_uring_disabled sysctl (root only; skipped with a message otherwise); the rsync
#      differential tests again with ringsync's destination look-ahead in every directory;
#   3. an ASan+UBSan build of the whole suite.
# Usage: scripts/test.sh [--quick]   (--quick: step 1 only)
# Installs missing dependencies first (scripts/setup.sh). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[[ ${1:-} == --quick ]] && quick=1
jobs=$(nproc)
# Tests run two per core: many of them mostly wait (on child processes, the real peers, network
# timeouts), and a suite at one per core left a core idle about a third of the time.
test_jobs=$((2 * jobs))

bash scripts/setup.sh

echo "== build (-Werror) and run all tests"
# No debug information (-g0): nothing here reads it, and it is a quarter of the compile time.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGKIT_WERROR=ON \
  -DRINGKIT_DEBUG_INFO=-g0 >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$test_jobs"

if ((quick)); then exit 0; fi

# Passes 2 and 3 re-run what depends on the backend the engine picks: the engine's own tests,
# the in-process TFTP server and transfers, and a few tests that drive the programs (which take
# their backend from the environment). The end-to-end suites that start servers already run each
# one on both backends in pass 1, and the rsync differential suite does not depend on it.
backend_tests='Backends/*:BufferPoolDeathTest.*:ExecutorSettings.*:FallbackDeathTest.*'
backend_tests+=':UdpAddress.*:UdpSocket.*:TftpdProcess.*:Scenarios/HardLinks.*'
backend_tests+=':-Backends/Ringtftpd*'

echo "== backend-dependent tests with RINGKIT_BACKEND=threads"
RINGKIT_BACKEND=threads build/bin/ringkit_tests --gtest_brief=1 --gtest_filter="$backend_tests"

# Kernels before 6.1 have no IORING_SETUP_DEFER_TASKRUN: the ring then runs completions as they
# come (COOP_TASKRUN), which this kernel is told to do here.
echo "== backend-dependent tests with RINGKIT_DEFER_TASKRUN=0"
RINGKIT_DEFER_TASKRUN=0 build/bin/ringkit_tests --gtest_brief=1 --gtest_filter="$backend_tests"

sysctl=/proc/sys/kernel/io_uring_disabled
if [[ -w $sysctl ]]; then
  echo "== backend-dependent tests with io_uring disabled (kernel.io_uring_disabled=2)"
  old=$(cat "$sysctl")
  trap 'echo "$old" > '"$sysctl" EXIT
  echo 2 > "$sysctl"
  build/bin/ringkit_tests --gtest_brief=1 --gtest_filter="$backend_tests"
  echo "$old" > "$sysctl"
  trap - EXIT
else
  echo "== SKIPPED: io_uring-disabled run needs root to write $sysctl"
fi

# ringsync looks up a directory's destination items on its worker thread while it stats the
# source (RINGKIT_SYNC_LOOKAHEAD, from 32 entries): most differential trees are smaller, so the
# rsync differential suites run again with it in every directory.
echo "== ringsync differential tests with RINGKIT_SYNC_LOOKAHEAD=1"
RINGKIT_SYNC_LOOKAHEAD=1 ctest --test-dir build --output-on-failure -j "$test_jobs" \
  -R 'Rsync|RingsyncSources|RingsyncLookAhead|RingsyncRelative|RingsyncFilesFrom'

echo "== ASan+UBSan build and run all tests"
# -O2: sanitizers stay exact, the suite runs faster, and coroutine symmetric transfer is a
# tail call as in release builds (GCC does not make it one at -O0). -g1: the line tables that
# sanitizer reports need, not the variables. The libraries and programs are unity builds here
# (CMakeLists.txt, RINGKIT_UNITY); pass 1 still compiles every source file on its own.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGKIT_WERROR=ON \
  -DRINGKIT_SANITIZE=address,undefined -DRINGKIT_BUILD_BENCH=OFF -DRINGKIT_DEBUG_INFO=-g1 \
  -DRINGKIT_UNITY=ON >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$test_jobs"
echo "== all test passes succeeded"
