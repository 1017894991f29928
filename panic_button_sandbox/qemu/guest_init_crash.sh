#!/bin/busybox sh
# /init of the crash kernel that `kexec -p` loaded: save /proc/vmcore the way Debian's
# kdump-tools lays it out (/var/crash/<YYYYMMDDHHMM>/dump.<stamp> and dmesg.<stamp>), then reboot
# into the first kernel. Lines starting PANIC-BUTTON- are read by the host (console.py).
/bin/busybox --install -s /bin
export PATH=/bin

fail() {
    echo "PANIC-BUTTON-GUEST-ERROR: $*"
    sync
    sleep 1
    reboot -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
[ -e /proc/vmcore ] || fail "crash initramfs booted without /proc/vmcore"
echo "PANIC-BUTTON-CRASH-KERNEL saving /proc/vmcore"

while read -r module; do
    insmod "/lib/modules/$module" || fail "insmod $module"
done </etc/panic-button/modules

tries=0
until [ -b /dev/vda ]; do
    tries=$((tries + 1))
    [ "$tries" -le 300 ] || fail "no /dev/vda after 30 s"
    sleep 0.1
done
mkdir -p /var/crash
mount -t ext4 /dev/vda /var/crash || fail "cannot mount /dev/vda at /var/crash"

stamp=$(date +%Y%m%d%H%M)
dump_dir="/var/crash/$stamp"
mkdir -p "$dump_dir"
# Message level 22 = common + error + report: no progress bar flooding the slow serial line.
makedumpfile --message-level 22 -c -d 31 /proc/vmcore "$dump_dir/dump-incomplete" ||
    fail "makedumpfile could not save /proc/vmcore"
mv "$dump_dir/dump-incomplete" "$dump_dir/dump.$stamp"
makedumpfile --message-level 22 --dump-dmesg /proc/vmcore "$dump_dir/dmesg.$stamp" ||
    fail "makedumpfile could not extract the dmesg"
sync
umount /var/crash
echo "PANIC-BUTTON-DUMP-SAVED $stamp"
reboot -f
