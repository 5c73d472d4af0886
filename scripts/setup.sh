#!/usr/bin/env bash
# Installs everything ringkit needs to build, test and benchmark, from Debian's archive.
# Idempotent: safe to run again. Must run as root (or with sudo available).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # libraries (see shared/design/ARCHITECTURE.md)
  liburing-dev libfuse3-dev fuse3 libxxhash-dev nlohmann-json3-dev libtomlplusplus-dev
  libcli11-dev libfmt-dev libspdlog-dev libacl1-dev libattr1-dev libcap-dev libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # peers for differential tests and benchmarks
  rsync tar tftp-hpa atftp tftpd-hpa curl busybox strace acl attr
  # tools for benchmark reports and network tests
  iproute2 nftables gnuplot-nox hyperfine time linux-perf
)

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  # tftpd-hpa and atftpd would start system daemons on port 69; we run them ourselves in tests.
  echo "exit 101" | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  $SUDO rm -f /usr/sbin/policy-rc.d
else
  echo "setup: all packages present"
fi

# atftpd conflicts with tftpd-hpa as a package, so it is unpacked (not installed) beside the tree
# for side-by-side tests and benchmarks: /opt/ringkit-peers/atftpd/usr/sbin/atftpd.
peers=/opt/ringkit-peers
if [[ ! -x $peers/atftpd/usr/sbin/atftpd ]]; then
  echo "setup: unpacking atftpd into $peers/atftpd"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download atftpd >/dev/null 2>&1) || { $SUDO apt-get update -q && (cd "$tmp" && apt-get download atftpd); }
  $SUDO mkdir -p "$peers/atftpd"
  $SUDO dpkg-deb -x "$tmp"/atftpd_*.deb "$peers/atftpd"
  rm -rf "$tmp"
fi
