#!/bin/sh
# Panic Button crash-dump collector for Linux. POSIX sh (tested with dash and bash), using only tools
# every distro ships: curl, dd, tee, sha256sum, base64, od, tr, stat, df, mkfifo, sort, sed, awk.
#
# The SSM document prepends two lines to this file:
#   PB_ACTION='locate|upload'        PB_MANIFEST_URL='<presigned GET of the manifest>'
# Both are plain assignments of values SSM already checked against an allowedPattern; nothing here
# evaluates them. The contract (manifest and result formats, S3 layout) is docs/collection-protocol.md.
# The instance needs no S3 rights: every URL used here was presigned by the workflow.
# Windows counterpart: collect_dump.ps1 (same sections, same numbering).

# --- 1. Environment --------------------------------------------------------------------------------
umask 077
set -u
LC_ALL=C
export LC_ALL
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ROOT="${PANIC_BUTTON_ROOT:-}"   # the sandbox's simulated instance; empty on a real instance
PB_ACTION="${PB_ACTION:-}"
PB_MANIFEST_URL="${PB_MANIFEST_URL:-}"
MIB=1048576
PART_ATTEMPTS=5
# The manifest key: made by locate, sent to the workflow only in the locate result (S3, never stdout),
# and signed by the workflow into the upload manifest's URL as a header value: the ManifestUrl that
# ListCommands shows is useless without it. Root-only, single use.
KEY_DIR="$ROOT/var/lib/panic-button"
KEY_FILE="$KEY_DIR/manifest.key"
# The result, log and dmesg URLs sign this header: each writes its key once (S3 then answers 412).
WRITE_ONCE="If-None-Match: *"
started_at=$(date +%s)
work="" result_url="" log_url="" hasher_pid="" uploader_pids="" error="" http_status="" http_tag=""

# --- 2. Workspace, log, exit handling ---------------------------------------------------------------
free_bytes() {  # shell arithmetic: mawk prints large numbers in exponent notation
    kib=$(df -Pk "$1" 2>/dev/null | awk 'NR == 2 { print $4 }')
    echo $((${kib:-0} * 1024))
}
# Scratch space for the parts in flight: /var/tmp is disk-backed everywhere (/tmp is tmpfs, i.e. RAM, on AL2023),
# but it may share a filesystem with the dump that just filled it; then /tmp it is.
tmp_base="${TMPDIR:-/tmp}"
if [ -d "$ROOT/var/tmp" ] && [ "$(free_bytes "$ROOT/var/tmp")" -ge $((160 * 1048576)) ]; then
    tmp_base="$ROOT/var/tmp"
fi
# The agent ends a timed-out or cancelled command with SIGKILL to the whole process group
# (amazon-ssm-agent, executers_unix.go killProcess): no trap runs then. A watcher in a session of its
# own outlives that kill and removes the workspace once this shell is gone; it holds none of the
# agent's pipes, so the command still ends when this shell does. The workspace's name is drawn, and its
# watcher in its own session (it says so on the pipe of the command substitution, which then ends), before
# it exists: until its setsid has run, the watcher is in this group and a kill would take it too. So a kill
# at any point leaves nothing behind. The name is random and mkdir refuses one that exists, so nobody can
# plant it in the shared /tmp beforehand.
work="$tmp_base/panic-button.$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
if command -v setsid >/dev/null 2>&1; then
    # shellcheck disable=SC2016  # $1 and $2 are the watcher's arguments, expanded by the watcher
    watching=$(setsid sh -c 'echo watching; { while kill -0 "$1" 2>/dev/null; do sleep 1; done; rm -rf "$2"; } \
        </dev/null >/dev/null 2>&1 &' collect_dump_watcher "$$" "$work" </dev/null 2>/dev/null)
    [ "$watching" = watching ] || echo "collect_dump: no watcher for $work; a kill would leave it behind" >&2
fi
mkdir -m 700 "$work" 2>/dev/null || {
    work=""; echo "collect_dump: cannot create a private directory in $tmp_base" >&2; exit 1; }

# Parts still uploading end on their own (each within one part's retries): waiting for them, rather than
# killing the jobs and orphaning their curl, leaves no process and no request behind the result.
wait_for_uploads() {
    [ -n "$uploader_pids" ] || return 0
    # shellcheck disable=SC2086  # one word per job ID
    wait $uploader_pids 2>/dev/null
    uploader_pids=""
}

cleanup() {
    wait_for_uploads
    if [ -n "$hasher_pid" ]; then exec 3>&-; kill "$hasher_pid" 2>/dev/null; hasher_pid=""; fi
    if [ -n "$work" ] && [ -d "$work" ]; then rm -rf "$work"; fi
    work=""
}

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$work/log"; }
emit() { printf '%s=%s\n' "$1" "$2" >>"$work/result"; }

# Publish the result and the transcript, print the result, and exit. Every exit after the
# workspace exists goes through here, so the workflow gets a result whenever one can be sent.
finish() {
    rc=$1
    trap - HUP INT TERM
    wait_for_uploads
    if [ "$rc" -ne 0 ]; then emit status failed; emit error "$error"; fi
    # The hashes first on stdout: SSM carries stdout on a channel no URL holder can write, and
    # GetCommandInvocation keeps only its first 24,000 characters. The workflow trusts these, not the result.
    for name in parts_sha256 dump_sha256 manifest_key_sha256; do
        value=$(sed -n "s/^$name=//p" "$work/result" | tail -n 1)
        [ -z "$value" ] || printf 'ssm_%s=%s\n' "$name" "$value"
    done
    grep -v '^manifest_key=' "$work/result"   # the key itself goes to S3 only
    if [ -n "$result_url" ]; then
        if put_with_retry "result" "$result_url" "$work/result" "$WRITE_ONCE"; then log "result uploaded"
        elif [ "$rc" -eq 0 ]; then rc=1; error="could not upload the result (HTTP $http_status)"; fi
    fi
    if [ -n "$log_url" ]; then
        log "exit $rc"
        put_with_retry "log" "$log_url" "$work/log" "$WRITE_ONCE" || true
    fi
    [ "$rc" -eq 0 ] || printf 'collect_dump: %s\n' "$error" >&5
    cleanup
    exit "$rc"
}

fail() { error="$*"; log "error: $error"; finish 1; }

: >"$work/log"
: >"$work/result"
# Everything the tools and the shell say on stderr goes to the transcript; the one-line failure reason
# goes to the real stderr, kept on fd 5.
exec 5>&2 2>>"$work/log"
trap cleanup EXIT
trap 'fail "interrupted by a signal"' HUP INT TERM
emit protocol 1
emit action "$PB_ACTION"
log "collector started: action=$PB_ACTION root=${ROOT:-/}"

# --- 3. HTTP through presigned URLs -----------------------------------------------------------------
# The URL goes to curl in a config file (-K), never on the command line: other local users can read
# /proc/*/cmdline, and a presigned URL is a capability. -g: URLs are not curl globs.
valid_url() {
    case $1 in https://*|http://127.0.0.1:*) ;; *) return 1 ;; esac
    case $1 in *[!A-Za-z0-9._~%/?\&=:-]*) return 1 ;; esac
}

# $http_tag keeps concurrent part uploads apart: each job's responses land in $work/http.<n>.body/headers.
http() {  # http URL [curl options...]: sets http_status; response in $work/http$http_tag.body/headers
    url=$1; shift
    rm -f "$work/http$http_tag.body" "$work/http$http_tag.headers"
    # The config file is as private as the manifest beside it (umask 077, a 0700 workspace). $http_header:
    # extra request headers the URL signed, one a line. One process per request, curl itself: parts in
    # flight cost one curl each, no shell around it.
    { printf 'url = "%s"\n' "$url"
      printf '%s\n' "${http_header:-}" | while IFS= read -r h; do
          [ -z "$h" ] || printf 'header = "%s"\n' "$h"; done; } >"$work/http$http_tag.config"
    http_status=$(curl -K "$work/http$http_tag.config" -g -sS --connect-timeout 20 \
        --speed-limit 1024 --speed-time 60 -o "$work/http$http_tag.body" -D "$work/http$http_tag.headers" \
        -w '%{http_code}' "$@")
    [ -n "$http_status" ] || http_status=000
    [ "$http_status" = 200 ]
}

http_error() {  # "HTTP 403 AccessDenied": the status and S3's error code, when there is one
    code=$(sed -n 's:.*<Code>\(.*\)</Code>.*:\1:p' "$work/http$http_tag.body" 2>/dev/null | head -n 1)
    printf 'HTTP %s%s' "$http_status" "${code:+ $code}"
}

# A request retried with backoff (1, 2, 4, 8 s): S3 throttles (503 SlowDown) and fails (500) now and then.
# 400/403/404 are final: the URL expired or is wrong, or S3 refused the bytes (BadDigest: they are not
# the ones the URL was signed for). The caller's $http_header goes with every attempt. 412 answers a
# write-once URL (If-None-Match: *) whose key exists: after a failed attempt, that attempt's own write
# arrived and only its answer was lost; on a first attempt, someone wrote there first.
http_with_retry() {  # what url [curl options...]
    what=$1; shift
    attempt=1 delay=1
    while :; do
        if http "$@"; then return 0; fi
        log "$what: attempt $attempt failed: $(http_error)"
        case $http_status in
            400|403|404) return 1 ;;
            412) [ "$attempt" -gt 1 ] && { log "$what: attempt $attempt: already written"; return 0; }
                 return 1 ;;
        esac
        [ "$attempt" -lt "$PART_ATTEMPTS" ] || return 1
        sleep "$delay"; attempt=$((attempt + 1)); delay=$((delay * 2))
    done
}

put_with_retry() {  # what url file [header]
    http_header=${4:-}
    if http_with_retry "$1" "$2" -T "$3"; then http_header=""; return 0; fi
    http_header=""; return 1
}

# --- 4. Manifest --------------------------------------------------------------------------------
case $PB_ACTION in locate|upload) ;; *) fail "unknown action '$PB_ACTION'" ;; esac
valid_url "$PB_MANIFEST_URL" || fail "the manifest URL is not a presigned S3 URL"
http_header=""
if [ "$PB_ACTION" = upload ]; then
    [ -f "$KEY_FILE" ] && [ ! -L "$KEY_FILE" ] || fail "no manifest key: locate did not run on this instance"
    manifest_key=$(cat "$KEY_FILE")
    rm -f "$KEY_FILE"
    case $manifest_key in ''|*[!A-Za-z0-9+/=]*) fail "the manifest key is damaged" ;; esac
    http_header="x-panic-button-manifest-key: $manifest_key"
fi
http_with_retry "manifest" "$PB_MANIFEST_URL" || { http_header=""; fail "cannot fetch the manifest: $(http_error)"; }
http_header=""
mv "$work/http.body" "$work/manifest"
[ "$(sed -n 1p "$work/manifest")" = "panic-button-manifest 1" ] || fail "not a version 1 manifest"
[ "$(sed -n '$p' "$work/manifest")" = "end" ] || fail "the manifest is truncated"

m_action="" not_before="" m_result="" m_log="" expect_path="" expect_size="" part_size=""
dmesg_url="" part_size_min="" dmesg_kms_key="" parallel_parts=""
while IFS=' ' read -r key value; do
    case $key in
        action) m_action=$value ;;
        not_before) not_before=$value ;;
        result_url) m_result=$value ;;
        log_url) m_log=$value ;;
        expect_path) expect_path=$value ;;
        expect_size) expect_size=$value ;;
        part_size) part_size=$value ;;
        part_size_min) part_size_min=$value ;;
        dmesg_url) dmesg_url=$value ;;
        dmesg_kms_key) dmesg_kms_key=$value ;;
        parallel_parts) parallel_parts=$value ;;
        part|panic-button-manifest|end) ;;
        *) log "ignoring manifest key '$key'" ;;
    esac
done <"$work/manifest"
valid_url "$m_result" && result_url=$m_result
valid_url "$m_log" && log_url=$m_log
[ -n "$result_url" ] || fail "the manifest has no valid result_url"
[ "$m_action" = "$PB_ACTION" ] || fail "the manifest is for '$m_action', not '$PB_ACTION'"
case $not_before in ''|*[!0-9]*) fail "the manifest has no numeric not_before" ;; esac

# --- 5. Locate ------------------------------------------------------------------------------------
# Candidates are lines "mtime size layout path" (path last: it may hold spaces) in $work/complete
# and $work/incomplete. Paths are the instance's view; files are read under $ROOT.
config_value() {  # file sed-expression: last match, quotes stripped, absolute paths only
    [ -r "$ROOT$1" ] || return 0
    v=$(sed -n "$2" "$ROOT$1" | tail -n 1 | tr -d "\"'")
    case $v in /*) printf '%s\n' "$v" ;; esac
}

# Only the dump writer's files count: kdump runs as root (the owner of "/"), while /var/crash is
# world-writable on Ubuntu, so a local user could plant a "dump" (and date it in the future).
trusted_uid=$(stat -c %u "$ROOT/") || fail "cannot stat the root directory"
now=$(date +%s)

add_candidate() {  # list layout host-path
    [ -f "$3" ] && [ ! -L "$3" ] && [ ! -L "${3%/*}" ] || return 0   # a symlink could point anywhere
    path=${3#"$ROOT"}
    case $path in *"
"*) log "skipping a path with a newline"; return 0 ;; esac
    sm=$(stat -L -c '%s %Y %u' "$3") || return 0
    size=${sm%% *} rest=${sm#* } list=$1
    mtime=${rest% *} owner=${rest#* }
    dir_owner=$(stat -c %u "${3%/*}") || return 0
    if [ "$owner" != "$trusted_uid" ] || [ "$dir_owner" != "$trusted_uid" ]; then
        emit note "ignored $path: owned by uid $owner (folder $dir_owner), not by the dump writer ($trusted_uid)"
        return 0
    fi
    if [ "$mtime" -gt $((now + 120)) ]; then
        emit note "ignored $path: dated in the future ($mtime)"
        return 0
    fi
    [ "$size" -gt 0 ] || list=incomplete        # an empty dump is a failed dump
    printf '%s %s %s %s\n' "$mtime" "$size" "$2" "$path" >>"$work/$list"
}

locate() {
    : >"$work/complete"; : >"$work/incomplete"
    {
        echo /var/crash
        config_value /etc/kdump.conf 's/^[[:space:]]*path[[:space:]][[:space:]]*\([^[:space:]#]*\).*/\1/p'
        config_value /etc/default/kdump-tools 's/^[[:space:]]*KDUMP_COREDIR=\([^[:space:]#]*\).*/\1/p'
    } | sed 's:/*$::' | awk 'NF && !seen[$0]++' >"$work/crash_dirs"
    abrt_dir=$(config_value /etc/abrt/abrt.conf 's/^[[:space:]]*DumpLocation[[:space:]]*=[[:space:]]*\([^[:space:]#]*\).*/\1/p')
    abrt_dir=${abrt_dir:-/var/spool/abrt}

    while IFS= read -r d; do
        emit searched "$d"
        # RHEL/Fedora/Amazon Linux: <ip>-YYYY-MM-DD-HH:MM:SS/vmcore, written as vmcore-incomplete.
        # Debian/Ubuntu: YYYYMMDDHHMM/dump.YYYYMMDDHHMM[.gz|.bz2|.lz4|.xz], written as
        # dump-incomplete[.ext]; its cp fallback writes vmcore-incomplete, renamed vmcore.YYYYMMDDHHMM.
        for f in "$ROOT$d"/*/vmcore; do add_candidate complete rhel "$f"; done
        for f in "$ROOT$d"/*/dump.[0-9]*; do add_candidate complete debian "$f"; done
        for f in "$ROOT$d"/*/vmcore.[0-9]*; do add_candidate complete debian-copy "$f"; done
        for f in "$ROOT$d"/*/vmcore-incomplete "$ROOT$d"/*/dump-incomplete*; do
            add_candidate incomplete kdump "$f"; done
    done <"$work/crash_dirs"

    # ABRT copies <dir> to <DumpLocation>/vmcore-<dir>.new, then renames it. A copy whose original
    # is still in a crash dir is the same dump (and its mtime is the copy time): skip it.
    emit searched "$abrt_dir"
    for f in "$ROOT$abrt_dir"/vmcore-*/vmcore; do
        dir=${f%/vmcore}; base=${dir##*/}; orig=${base#vmcore-}
        case $dir in *.new) add_candidate incomplete abrt "$f"; continue ;; esac
        dup=no
        while IFS= read -r d; do [ -f "$ROOT$d/$orig/vmcore" ] && dup=yes; done <"$work/crash_dirs"
        [ "$dup" = yes ] || add_candidate complete abrt "$f"
    done

    # kdump targets off the root filesystem or off the instance: the dump is not where we look.
    if [ -r "$ROOT/etc/kdump.conf" ]; then
        awk '$1 ~ /^(nfs|ssh|ext[234]|xfs|btrfs|raw)$/ { print $1, $2 }' "$ROOT/etc/kdump.conf" |
            while IFS= read -r target; do
            emit note "kdump.conf dumps to '$target': that target was not searched"; done
    fi

    chosen="" layout="" dump_path="" dump_size="" dump_mtime=""
    sort -k1,1nr -k4r "$work/complete" >"$work/complete.sorted"
    while read -r mtime size lay path; do
        if [ "$mtime" -lt "$not_before" ]; then emit older "$size $mtime $path"
        elif [ -z "$chosen" ]; then
            chosen=yes layout=$lay dump_path=$path dump_size=$size dump_mtime=$mtime
        else emit other "$size $mtime $path"; fi
    done <"$work/complete.sorted"
    sort -k1,1nr "$work/incomplete" | while read -r mtime size lay path; do
        emit incomplete "$size $mtime $path"; done

    dmesg_path="" dmesg_size=""
    if [ -n "$chosen" ]; then
        dir=${dump_path%/*}
        # vmcore-dmesg.txt (kexec-tools) or the newest dmesg.YYYYMMDDHHMM (kdump-tools)
        for f in "$ROOT$dir/vmcore-dmesg.txt" "$ROOT$dir"/dmesg.[0-9]*; do
            if [ -s "$f" ] && [ ! -L "$f" ]; then
                dmesg_path=${f#"$ROOT"} dmesg_size=$(stat -c %s "$f")
                [ "${f##*/}" = vmcore-dmesg.txt ] && break
            fi
        done
    fi
    kernel_from "${dmesg_path:+$ROOT$dmesg_path}"
}

kernel_from() {  # dmesg-file-or-empty: sets kernel and kernel_source
    kernel="" kernel_source=uname
    if [ -n "$1" ]; then
        kernel=$(sed -n '/Linux version /{s/.*Linux version \([^ ]*\).*/\1/p;q;}' "$1")
        [ -n "$kernel" ] && kernel_source=dmesg
    fi
    [ -n "$kernel" ] || kernel=$(uname -r)
}

report_dump() {
    emit hostname "$(uname -n)"
    emit kernel "$kernel"; emit kernel_source "$kernel_source"
    emit layout "$layout"; emit dump_path "$dump_path"; emit dump_size "$dump_size"
    emit dump_mtime "$dump_mtime"
}

# --- 5b. Part hashes ------------------------------------------------------------------------------
# The workflow signs each part's SHA-256 into its UploadPart URL, so it needs them before the upload:
# locate hashes the chosen dump (one read, constant memory) in parts of the size the workflow's
# choose_part_size would pick, and the composite (SHA-256 of the concatenated binary part digests, as
# S3 computes it) goes to stdout, where no URL holder can write.
hex_to_octal() {  # hex digests, one a line -> printf escapes of their bytes, one line each
    awk 'function nibble(c) { return index("0123456789abcdef", c) - 1 }
         { line = ""
           for (i = 1; i < length($0); i += 2)
               line = line sprintf("\\%03o", nibble(substr($0, i, 1)) * 16 + nibble(substr($0, i + 1, 1)))
           print line }'
}
binary_digests() {  # hex digests on stdin -> their concatenated bytes on stdout
    hex_to_octal | while IFS= read -r escapes; do
        # shellcheck disable=SC2059  # the format is octal escapes built from hex digits
        printf "$escapes"; done
}
hex_to_base64() { printf '%s\n' "$1" | binary_digests | base64 | tr -d '\n'; }

choose_part_size() {  # sets part_size: whole MiB, <= 10,000 parts, two parts fit the scratch space
    case $part_size_min in ''|*[!0-9]*) fail "the manifest has no numeric part_size_min" ;; esac
    needed=$(( ((dump_size + 9999) / 10000 + MIB - 1) / MIB * MIB ))
    [ "$needed" -ge $((5 * MIB)) ] || needed=$((5 * MIB))
    part_size=$part_size_min
    [ "$part_size" -ge "$needed" ] || part_size=$needed
    scratch=$(free_bytes "$work")
    fits=$(( (scratch - 16 * MIB) / 2 / MIB * MIB ))
    [ "$fits" -ge "$needed" ] || fail "the instance has $((scratch / MIB)) MiB of scratch space; the" \
        "$dump_size-byte dump needs two parts of $((needed / MIB)) MiB"
    [ "$part_size" -le "$fits" ] || part_size=$fits
}

hash_parts() {  # writes $work/part_hashes (hex, one a line) and $work/whole.sha256
    part_mib=$((part_size / MIB))
    part_count=$(( (dump_size + part_size - 1) / part_size ))
    before=$(stat -L -c '%s %Y' "$ROOT$dump_path")
    mkfifo "$work/whole.fifo"
    sha256sum <"$work/whole.fifo" >"$work/whole.sha256" &
    hasher_pid=$!
    exec 3>"$work/whole.fifo"
    : >"$work/part_hashes"
    n=1
    while [ "$n" -le "$part_count" ]; do
        dd if="$ROOT$dump_path" bs=$MIB skip=$(((n - 1) * part_mib)) count=$part_mib |
            tee "$work/whole.fifo" | sha256sum | cut -d ' ' -f 1 >>"$work/part_hashes"
        n=$((n + 1))
    done
    exec 3>&-
    wait "$hasher_pid" || fail "hashing the dump failed"
    hasher_pid=""
    rm -f "$work/whole.fifo"
    [ "$(stat -L -c '%s %Y' "$ROOT$dump_path")" = "$before" ] || fail "$dump_path changed while it was hashed"
}

new_manifest_key() {  # 32 random bytes, base64, kept root-only for the upload command
    mkdir -p "$KEY_DIR" || fail "cannot create $KEY_DIR"
    dd if=/dev/urandom bs=32 count=1 2>/dev/null >"$work/manifest.key.bin"
    [ "$(stat -c %s "$work/manifest.key.bin")" -eq 32 ] || fail "cannot read /dev/urandom"
    rm -f "$KEY_FILE"
    base64 <"$work/manifest.key.bin" | tr -d '\n' >"$KEY_FILE" || fail "cannot write $KEY_FILE"
    emit manifest_key "$(cat "$KEY_FILE")"
    emit manifest_key_sha256 "$(sha256sum <"$work/manifest.key.bin" | cut -d ' ' -f 1)"
}

composite_sha256() {  # file of hex part digests -> S3's composite SHA-256 (base64, without "-N")
    hex_to_base64 "$(binary_digests <"$1" | sha256sum | cut -d ' ' -f 1)"
}

emit not_before "$not_before"
emit scratch_free "$(free_bytes "$work")"
locate
if [ "$PB_ACTION" = locate ]; then
    if [ -n "$chosen" ]; then
        choose_part_size
        hash_parts
        emit status found; report_dump
        emit dmesg_path "$dmesg_path"; emit dmesg_size "$dmesg_size"
        emit part_size "$part_size"; emit part_count "$part_count"
        awk '{ print "part_hash=" NR " " $1 }' "$work/part_hashes" >>"$work/result"
        emit dump_sha256 "$(cut -d ' ' -f 1 "$work/whole.sha256")"
        emit parts_sha256 "$(composite_sha256 "$work/part_hashes")"
        new_manifest_key
    else
        emit status none; emit hostname "$(uname -n)"; emit kernel "$kernel"
        emit kernel_source "$kernel_source"
    fi
    if [ -n "$chosen" ]; then log "locate: found $dump_path"; else log "locate: no complete dump after $not_before"; fi
    finish 0
fi

# --- 6. Upload: checks ----------------------------------------------------------------------------
[ -n "$chosen" ] || fail "no complete dump written after $not_before"
[ "$dump_path" = "$expect_path" ] || fail "the newest dump is '$dump_path', not '$expect_path'"
[ "$dump_size" = "$expect_size" ] || fail "$dump_path is $dump_size bytes, expected $expect_size"
case $part_size in ''|*[!0-9]*|0) fail "the manifest has no numeric part_size" ;; esac
[ $((part_size % MIB)) -eq 0 ] || fail "part_size $part_size is not a whole number of MiB"
part_mib=$((part_size / MIB))
part_count=$(( (dump_size + part_size - 1) / part_size ))
grep '^part ' "$work/manifest" >"$work/parts"
[ "$(wc -l <"$work/parts")" -eq "$part_count" ] ||
    fail "the manifest has $(wc -l <"$work/parts") part URLs, the dump needs $part_count"
# Parts in flight at once: the manifest's parallel_parts (one when it names none), as many as the
# scratch space holds beside the one being prepared, and one only on tmpfs, which is RAM: on a small
# instance a few 64 MiB parts there would take memory its workload needs as it comes back.
case $parallel_parts in ''|*[!0-9]*|0) parallel_parts=1 ;; esac
room=$(( ($(free_bytes "$work") - MIB) / part_size ))
[ "$room" -ge 2 ] || fail "not enough space in $tmp_base for two $part_mib MiB parts"
slots=$parallel_parts
[ "$slots" -lt "$room" ] || slots=$((room - 1))
if [ "$slots" -gt 1 ] && [ "$(stat -f -c %T "$work" 2>/dev/null)" = tmpfs ]; then
    emit note "$tmp_base is tmpfs (RAM): one part in flight, not $slots"
    slots=1
fi
[ "$slots" -eq "$parallel_parts" ] || log "$slots parts in flight, not $parallel_parts: $room fit in $tmp_base"

# --- 7. Upload: parts -----------------------------------------------------------------------------
# Constant memory, one read of the dump, in order: dd copies part n in 1 MiB blocks; tee writes it to a
# part file and to a FIFO read by a background sha256sum of the whole dump, while sha256sum hashes the
# part. The shell holds the FIFO open on fd 3, so the whole-dump hash sees one stream across all parts.
# S3 caps each connection, not their sum: up to $slots parts upload at once, each in a job with its own
# files, while the next part is prepared, so at most $slots + 1 parts sit in the scratch space. The slot
# FIFO (fd 6) holds one token per free slot; a job returns its token once part.n.line (its ETag) or
# part.n.error is in place. The first error stops new parts; the result waits for those in flight.
prepare() {  # n: writes $work/part.n and $work/part.n.sha256; the caller checks the size
    dd if="$ROOT$dump_path" bs=$MIB skip=$((($1 - 1) * part_mib)) count=$part_mib |
        tee "$work/part.$1" "$work/whole.fifo" | sha256sum | cut -d ' ' -f 1 >"$work/part.$1.sha256"
}
upload_part() {  # n checksum url: a background job; it reports in files, never through fail
    http_tag=".$1"
    # The URL was signed with this header: S3 refuses it missing, altered, or with other bytes.
    if put_with_retry "part $1" "$3" "$work/part.$1" "x-amz-checksum-sha256: $2"; then
        etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]:[[:space:]]*//p' "$work/http.$1.headers" | tr -d '\r"' | tail -n 1)
        if [ -n "$etag" ]; then
            printf 'part=%s %s %s\n' "$1" "$etag" "$(cat "$work/part.$1.sha256")" >"$work/part.$1.line"
            log "part $1 uploaded (attempt $attempt)"
        else
            printf 'S3 returned no ETag for part %s\n' "$1" >"$work/part.$1.tmp"
        fi
    else
        printf 'part %s failed after %s attempts: %s\n' "$1" "$attempt" "$(http_error)" >"$work/part.$1.tmp"
    fi
    [ ! -f "$work/part.$1.tmp" ] || mv "$work/part.$1.tmp" "$work/part.$1.error"  # whole, or not there
    rm -f "$work/part.$1" "$work/part.$1.sha256" "$work/http.$1.body" "$work/http.$1.headers" "$work/http.$1.config"
    echo free >&6
}
first_part_error() {  # fails with the lowest-numbered part's error, if a job has reported one
    i=1
    while [ "$i" -le "$n" ]; do [ ! -f "$work/part.$i.error" ] || fail "$(cat "$work/part.$i.error")"; i=$((i + 1)); done
}
mkfifo "$work/whole.fifo" "$work/slots"
sha256sum <"$work/whole.fifo" >"$work/whole.sha256" &
hasher_pid=$!
exec 3>"$work/whole.fifo" 6<>"$work/slots"   # read-write: opening the slot FIFO never blocks
i=0
while [ "$i" -lt "$slots" ]; do echo free >&6; i=$((i + 1)); done
log "uploading $dump_path: $dump_size bytes in $part_count parts of $part_mib MiB, $slots at a time"
: >"$work/part_hashes"
n=0
while read -r word number checksum url <&4; do
    n=$((n + 1))
    [ "$word $number" = "part $n" ] || fail "manifest part lines are out of order at '$word $number'"
    valid_url "$url" || fail "part $n URL is not a presigned S3 URL"
    case $checksum in *[!A-Za-z0-9+/=]*|'') fail "part $n has no base64 checksum" ;; esac
    prepare "$n"
    want=$((dump_size - (n - 1) * part_size))
    [ "$want" -lt "$part_size" ] || want=$part_size
    [ "$(stat -c %s "$work/part.$n")" -eq "$want" ] || fail "cannot read part $n of $dump_path"
    part_sha=$(cat "$work/part.$n.sha256")
    printf '%s\n' "$part_sha" >>"$work/part_hashes"
    [ "$(hex_to_base64 "$part_sha")" = "$checksum" ] || fail "part $n of $dump_path changed since it was located"
    read -r _slot <&6   # a free slot
    first_part_error
    upload_part "$n" "$checksum" "$url" </dev/null &
    uploader_pids="$uploader_pids $!"
done 4<"$work/parts"
exec 3>&-
wait "$hasher_pid" || fail "hashing the dump failed"
hasher_pid=""
wait_for_uploads
first_part_error
: >"$work/part_lines"
n=1
while [ "$n" -le "$part_count" ]; do
    [ -f "$work/part.$n.line" ] || fail "part $n ended without a result"
    cat "$work/part.$n.line" >>"$work/part_lines"
    n=$((n + 1))
done
dump_sha=$(cut -d ' ' -f 1 "$work/whole.sha256")

# --- 8. Upload: dmesg -----------------------------------------------------------------------------
dmesg_source=none dmesg_file="" dmesg_sha="" dmesg_size=""
if [ -n "$dmesg_path" ]; then
    dmesg_source=file dmesg_file="$ROOT$dmesg_path"
elif command -v makedumpfile >/dev/null 2>&1 &&
    makedumpfile --dump-dmesg "$ROOT$dump_path" "$work/dmesg.txt" >>"$work/log" 2>&1 &&
    [ -s "$work/dmesg.txt" ]; then
    dmesg_source=makedumpfile dmesg_file="$work/dmesg.txt"
fi
if [ -n "$dmesg_file" ] && valid_url "$dmesg_url"; then
    cp "$dmesg_file" "$work/dmesg.upload"   # hash exactly the bytes that are sent
    dmesg_sha=$(sha256sum <"$work/dmesg.upload" | cut -d ' ' -f 1)
    dmesg_size=$(stat -c %s "$work/dmesg.upload")
    dmesg_headers=$WRITE_ONCE  # and the dump's own KMS key, signed into the URL: sent as signed
    case $dmesg_kms_key in
        '') ;;
        *[!A-Za-z0-9:/_-]*) fail "the manifest's dmesg_kms_key is not a KMS key ARN" ;;
        *) dmesg_headers="$WRITE_ONCE
x-amz-server-side-encryption: aws:kms
x-amz-server-side-encryption-aws-kms-key-id: $dmesg_kms_key" ;;
    esac
    if put_with_retry "dmesg" "$dmesg_url" "$work/dmesg.upload" "$dmesg_headers"; then
        kernel_from "$work/dmesg.upload"
    else
        emit note "dmesg upload failed: $(http_error)"; dmesg_source=none dmesg_sha="" dmesg_size=""
    fi
fi

# --- 9. Upload: result ----------------------------------------------------------------------------
emit status uploaded
report_dump
emit dump_sha256 "$dump_sha"
emit parts_sha256 "$(composite_sha256 "$work/part_hashes")"
emit part_size "$part_size"
emit part_count "$part_count"
emit parallel_parts "$slots"
cat "$work/part_lines" >>"$work/result"
emit dmesg_source "$dmesg_source"
emit dmesg_path "$dmesg_path"
emit dmesg_size "$dmesg_size"
emit dmesg_sha256 "$dmesg_sha"
emit started_at "$started_at"
emit finished_at "$(date +%s)"
log "upload complete: sha256 $dump_sha"
finish 0
