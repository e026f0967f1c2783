#!/usr/bin/env bash
# The system packages and kernel settings the tests need (Debian, as root): installs only what
# is missing, so `make test` runs it every time at no cost. Without root it says what is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v make >/dev/null 2>&1 || need+=(make)
# strip and readelf: the test interpreter's install_only_stripped flavour; xz: tar.xz checks.
command -v strip >/dev/null 2>&1 || need+=(binutils)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
# Cross-target tests: aarch64 binaries run here through qemu-user and binfmt_misc, and the
# aarch64 interpreter is assembled from Debian's arm64 packages (apt-get download).
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
command -v update-binfmts >/dev/null 2>&1 || need+=(binfmt-support)
[ -e /lib/ld-linux-aarch64.so.1 ] || need+=(libc6:arm64)
if [ "$(id -u)" != 0 ]; then
    if ((${#need[@]})); then
        echo "system-deps: not root; for the full suite install (Debian, arm64 enabled): ${need[*]}"
    fi
    exit 0
fi
updated=
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    updated=yes
fi
if ((${#need[@]})) || [ -n "$updated" ]; then
    echo "system-deps: installing ${need[*]:-nothing new} (arm64 enabled)"
    apt-get update -qq
    if ((${#need[@]})); then
        apt-get install -y -qq "${need[@]}" >/dev/null
    fi
fi
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
        echo "system-deps: warning: cannot mount binfmt_misc (a container without the privilege?)"
fi
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null ||
    echo "system-deps: warning: qemu-aarch64 is not enabled in binfmt_misc; aarch64 bundles will not be smoke-tested"

