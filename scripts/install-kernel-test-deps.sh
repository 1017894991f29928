#!/usr/bin/env bash
# Installs the Debian packages the real-kernel NMI test (tests/kernel) needs on the host.
# Idempotent and quiet: does nothing when everything is present, and runs `apt-get update`
# only when a package is missing. The guest kernel itself is never installed (see
# panic_button_sandbox/qemu/guest.py: it is downloaded and unpacked into the cache).
set -euo pipefail

packages=(
  qemu-system-x86   # the VM (TCG, no KVM needed)
  kexec-tools       # kexec -p in the guest
  makedumpfile      # in the crash kernel, and on the host to read the dump's dmesg
  busybox-static    # the guests' userland
  cpio              # a newc initramfs reader, handy when debugging the images
  e2fsprogs         # mkfs.ext4 and debugfs: the crash disk without loop mounts
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
((${#missing[@]} == 0)) && exit 0

if ((EUID != 0)); then
  echo "install-kernel-test-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-kernel-test-deps: installing ${missing[*]}" >&2
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
