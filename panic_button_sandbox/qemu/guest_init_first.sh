#!/bin/busybox sh
# /init of the first kernel, the "production" system: arm kdump like Debian's kdump-tools would,
# then live like a server: a heartbeat on the console every second, so the host can see whether
# the system is still running after an NMI. Lines starting PANIC-BUTTON- are read by the host
# (panic_button_sandbox/qemu/console.py); keep them in step.
/bin/busybox --install -s /bin
export PATH=/bin

fail() {
    echo "PANIC-BUTTON-GUEST-ERROR: $*"
    sleep 1
    poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

while read -r module; do
    insmod "/lib/modules/$module" || fail "insmod $module"
done </etc/panic-button/modules

# The disk node can lag behind insmod, more so on a loaded TCG host: wait, but not forever.
tries=0
until [ -b /dev/vda ]; do
    tries=$((tries + 1))
    [ "$tries" -le 300 ] || fail "no /dev/vda after 30 s"
    sleep 0.1
done
mkdir -p /var/crash
mount -t ext4 /dev/vda /var/crash || fail "cannot mount /dev/vda at /var/crash"

kexec -p /boot/vmlinuz --initrd=/boot/crash-initrd.img \
    --append="console=ttyS0 reset_devices nr_cpus=1 irqpoll nousb panic=5 rdinit=/init" ||
    fail "kexec -p could not load the crash kernel"

# pb.nmi_panic=0 on the kernel command line leaves unknown_nmi_panic off: "kdump not configured".
# pb.hang=<scenario> puts the system in a real hang once armed (see start_hang below).
nmi_panic=1
hang=none
read -r cmdline </proc/cmdline
for argument in $cmdline; do
    case "$argument" in
    pb.nmi_panic=*) nmi_panic="${argument#pb.nmi_panic=}" ;;
    pb.hang=*) hang="${argument#pb.hang=}" ;;
    esac
done
if [ "$nmi_panic" = 1 ]; then
    sysctl -w kernel.unknown_nmi_panic=1 >/dev/null || fail "sysctl kernel.unknown_nmi_panic=1"
fi

# Check the armed state here rather than on the host: a kernel message can interleave with the line.
[ "$(cat /sys/kernel/kexec_crash_loaded)" = 1 ] || fail "crash kernel not loaded"
[ "$(cat /proc/sys/kernel/unknown_nmi_panic)" = "$nmi_panic" ] ||
    fail "unknown_nmi_panic is $(cat /proc/sys/kernel/unknown_nmi_panic), wanted $nmi_panic"
echo "PANIC-BUTTON-ARMED kexec_crash_loaded=1 unknown_nmi_panic=$nmi_panic"

task_state() {
    # The field after the ")" that closes the comm in /proc/<pid>/stat: R, S, D, ...
    sed -n 's/^.*) \([A-Z]\).*$/\1/p' "/proc/$1/stat" 2>/dev/null || echo gone
}

# fsfreeze-writer: freeze the crash disk's filesystem, then write to it: the writers sleep in D state
# in sb_start_write until a thaw that never comes. The freeze flushes the journal first, so the crash
# kernel still mounts the disk cleanly.
hang_fsfreeze_writer() {
    fsfreeze --freeze /var/crash || fail "fsfreeze --freeze /var/crash"
    writers=""
    for writer in 1 2 3; do
        dd if=/dev/zero of="/var/crash/pb-writer-$writer" bs=4096 count=1 2>/dev/null &
        writers="$writers $!"
    done
    tries=0
    for pid in $writers; do
        until [ "$(task_state "$pid")" = D ]; do
            tries=$((tries + 1))
            [ "$tries" -le 300 ] || fail "writer $pid never blocked (state $(task_state "$pid"))"
            sleep 0.1
        done
    done
    echo "PANIC-BUTTON-HUNG fsfreeze-writer: dd pids$writers in D state"
}

# rt-spin: with RT throttling off, a SCHED_FIFO busy loop pinned to every CPU starves everything else,
# this shell and its heartbeat included. /bin/pb-spin is a script so its tasks are named pb-spin.
hang_rt_spin() {
    sysctl -w kernel.sched_rt_runtime_us=-1 >/dev/null || fail "sysctl kernel.sched_rt_runtime_us=-1"
    cpus=$(nproc)
    echo "PANIC-BUTTON-HUNG rt-spin: SCHED_FIFO pb-spin on $cpus CPUs, heartbeat stops"
    cpu=0
    while [ "$cpu" -lt "$cpus" ]; do
        taskset -c "$cpu" chrt -f 50 /bin/pb-spin &
        cpu=$((cpu + 1))
    done
}

case "$hang" in
none) ;;
fsfreeze-writer) hang_fsfreeze_writer ;;
rt-spin) hang_rt_spin ;;
*) fail "unknown pb.hang=$hang" ;;
esac

beat=0
nmi_reported=0
while true; do
    beat=$((beat + 1))
    echo "PANIC-BUTTON-HEARTBEAT $beat"
    # An NMI the kernel chose to survive leaves this line in its log; say so once.
    if [ "$nmi_reported" = 0 ] && dmesg | grep -q "Dazed and confused"; then
        echo "PANIC-BUTTON-NMI-SURVIVED: $(dmesg | grep -m1 'NMI received for unknown reason')"
        nmi_reported=1
    fi
    sleep 1
done
