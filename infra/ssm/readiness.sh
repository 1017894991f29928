#!/bin/sh
# Panic Button readiness check for Linux: will a diagnostic interrupt (an unknown NMI) become a crash
# dump that the collector can find? POSIX sh (tested with dash and bash). Read-only: it writes no file,
# starts no service and changes no setting.
#
# Output, one line each: `<check>=<ok|warn|fail> <detail>`, then `ready=yes|no` and `reasons=` (the
# failed checks, "; "-separated). Any fail makes the instance not ready; a warn deserves a look but does
# not. `panic-button readiness` parses these lines; people read them in the SSM console. The README
# ("Prepare your instances") lists the same checks as manual commands.
# Every path is prefixed with $PANIC_BUTTON_ROOT: the sandbox's simulated instance, unset on a real one.
# Windows counterpart: readiness.ps1.

# --- 1. Environment --------------------------------------------------------------------------------
set -u
LC_ALL=C
export LC_ALL
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ROOT="${PANIC_BUTTON_ROOT:-}"
failed=""

report() {  # report CHECK STATUS DETAIL
    detail=$(printf '%s' "$3" | tr '\r\n' '  ')
    printf '%s=%s %s\n' "$1" "$2" "$detail"
    if [ "$2" = fail ]; then failed="${failed:+$failed; }$1: $detail"; fi
}
first_word() { [ -r "$1" ] && awk 'NR == 1 { print $1 }' "$1"; }
size() {  # KiB -> text; awk's floats, since mawk prints large integers in exponent notation
    awk -v kib="$1" 'BEGIN { if (kib >= 1048576) printf "%.1f GiB", kib / 1048576; else printf "%.1f MiB", kib / 1024 }'
}

# --- 2. kdump service ------------------------------------------------------------------------------
# The unit is kdump on RHEL, Fedora and Amazon Linux, kdump-tools on Debian and Ubuntu. Only the
# instance's own systemctl can tell: the sandbox's simulated root has none (the host's would describe
# the host), so there the state is unknown and the kernel's own files below decide.
systemctl=""
for candidate in "$ROOT/usr/bin/systemctl" "$ROOT/bin/systemctl"; do
    if [ -x "$candidate" ]; then systemctl=$candidate; break; fi
done
if [ -z "$systemctl" ]; then
    report kdump_service warn "no systemctl found: service state unknown"
else
    states="" active=""
    for unit in kdump kdump-tools; do
        state=$("$systemctl" is-active "$unit" 2>/dev/null)
        states="${states:+$states, }$unit ${state:-unknown}"
        if [ "$state" = active ]; then active=$unit; fi
    done
    if [ -n "$active" ]; then
        report kdump_service ok "$active is active"
    else
        report kdump_service fail "neither unit is active ($states): enable kdump (RHEL, Amazon Linux) or kdump-tools (Debian, Ubuntu)"
    fi
fi

# --- 3. Crash kernel -------------------------------------------------------------------------------
loaded=$(first_word "$ROOT/sys/kernel/kexec_crash_loaded")
case "$loaded" in
    1) report crash_kernel_loaded ok "/sys/kernel/kexec_crash_loaded is 1" ;;
    "") report crash_kernel_loaded fail "/sys/kernel/kexec_crash_loaded is missing: the kernel has no kexec support" ;;
    *) report crash_kernel_loaded fail "/sys/kernel/kexec_crash_loaded is $loaded: no crash kernel loaded (is the kdump service running?)" ;;
esac

reservation=$(grep -o 'crashkernel=[^ ]*' "$ROOT/proc/cmdline" 2>/dev/null | head -n 1)
reserved_bytes=$(first_word "$ROOT/sys/kernel/kexec_crash_size")
if [ -z "$reservation" ]; then
    report crashkernel_reserved fail "no crashkernel= on the kernel command line: add crashkernel=256M and reboot"
elif [ "${reserved_bytes:-}" = 0 ]; then
    # The parameter is there but the kernel could not reserve the memory (too large, or a bad syntax).
    report crashkernel_reserved fail "$reservation is set but nothing is reserved (/sys/kernel/kexec_crash_size is 0)"
else
    report crashkernel_reserved ok "$reservation"
fi

# --- 4. Panic on an unknown NMI --------------------------------------------------------------------
# The diagnostic interrupt is an unknown NMI; either setting makes the kernel panic on one.
unknown_nmi=$(first_word "$ROOT/proc/sys/kernel/unknown_nmi_panic")
unrecovered_nmi=$(first_word "$ROOT/proc/sys/kernel/panic_on_unrecovered_nmi")
if [ "$unknown_nmi" = 1 ]; then
    report nmi_panic ok "kernel.unknown_nmi_panic = 1"
elif [ "$unrecovered_nmi" = 1 ]; then
    report nmi_panic ok "kernel.panic_on_unrecovered_nmi = 1"
else
    report nmi_panic fail "kernel.unknown_nmi_panic = ${unknown_nmi:-absent}, kernel.panic_on_unrecovered_nmi = ${unrecovered_nmi:-absent}: the interrupt will not panic the kernel"
fi

# --- 5. Dump folder --------------------------------------------------------------------------------
# kexec-tools reads `path` from /etc/kdump.conf, kdump-tools KDUMP_COREDIR from /etc/default/kdump-tools;
# both default to /var/crash.
folder="" source="default"
kdump_conf="$ROOT/etc/kdump.conf"
kdump_tools="$ROOT/etc/default/kdump-tools"
if [ -r "$kdump_conf" ]; then
    folder=$(awk '$1 == "path" { value = $2 } END { print value }' "$kdump_conf")
    if [ -n "$folder" ]; then source="path in /etc/kdump.conf"; fi
    target=$(awk '$1 ~ /^(nfs|ssh|raw|ext[234]|xfs|btrfs|minix|virtiofs)$/ { value = $1 " " $2 } END { print value }' "$kdump_conf")
else
    target=""
fi
if [ -z "$folder" ] && [ -r "$kdump_tools" ]; then
    folder=$(awk -F= '$1 ~ /^[ \t]*KDUMP_COREDIR[ \t]*$/ { value = $2; gsub(/["\047]|[ \t]+#.*$/, "", value) }
                      END { print value }' "$kdump_tools")
    if [ -n "$folder" ]; then source="KDUMP_COREDIR in /etc/default/kdump-tools"; fi
fi
folder=${folder:-/var/crash}
if [ -n "$target" ]; then
    # kexec-tools writes `path` on that target, not on the root filesystem the collector searches.
    report dump_folder warn "/etc/kdump.conf sends dumps to $target ($folder on it): the collector only searches local folders"
elif [ -d "$ROOT$folder" ]; then
    report dump_folder ok "$folder ($source)"
else
    report dump_folder warn "$folder ($source) does not exist yet"
fi

# --- 6. Free space against memory ------------------------------------------------------------------
# makedumpfile -d 31 (both distros' default) keeps only kernel pages: the dump is a few percent of RAM
# on most instances and up to about a third on kernel-heavy ones. Rule: free >= RAM/3 ok; free >= RAM/32
# warn (a typical dump fits, a large one may not); less fail.
probe="$ROOT$folder"
while [ ! -d "$probe" ]; do probe=$(dirname "$probe"); done
free_kib=$(df -Pk "$probe" 2>/dev/null | awk 'NR == 2 { print $4 }')
memory_kib=$(awk '$1 == "MemTotal:" { print $2 }' "$ROOT/proc/meminfo" 2>/dev/null)
case "${free_kib:-x}${memory_kib:-x}" in
    *[!0-9]*)
        report dump_space warn "cannot compare free space (${free_kib:-unknown} KiB) with memory (${memory_kib:-unknown} KiB)" ;;
    *)
        sizes="$(size "$free_kib") free for $(size "$memory_kib") of RAM"
        if [ $((free_kib * 3)) -ge "$memory_kib" ]; then
            report dump_space ok "$sizes"
        elif [ $((free_kib * 32)) -ge "$memory_kib" ]; then
            report dump_space warn "$sizes: a typical dump fits, one of a third of RAM would not"
        else
            report dump_space fail "$sizes: less than 1/32 of RAM, a dump will likely not fit"
        fi ;;
esac

# --- 7. Verdict ------------------------------------------------------------------------------------
if [ -z "$failed" ]; then
    echo "ready=yes"
else
    echo "ready=no"
fi
echo "reasons=$failed"
exit 0
