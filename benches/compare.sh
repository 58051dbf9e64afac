#!/usr/bin/env bash
# Why this exists: issue 7 asks that sxsaudit's audit be measured, in one run and on one image,
# against the hardware floors (reading every payload; hashing at the single-core SHA-256 rate)
# and against its peers (xargs sha256sum, xargs openssl dgst, wimlib-imagex verify). It prints
# each figure and the issue's ratios, and writes them to a JSON file. See benches/README.md.
#
# Usage: benches/compare.sh [--scale full|medium|small] [--out FILE] [--repeat N] [--no-wim] [DIR]
#   DIR     the image (a folder holding Windows/WinSxS/Manifests); built there with
#           `sxsaudit demo DIR --scale SCALE --clean --build-only` when it holds none.
#           Default: ${TMPDIR:-/tmp}/sxsaudit-bench-SCALE. Full scale needs ~5.5 GB of disk.
# Environment: PLAIN=1 builds the image with plain manifests and payloads (`demo --plain`),
#   SCALE (default full), OUT (default bench-results/compare.json), REPEAT (default
#   3: each timing is the best of REPEAT rounds, every command run once a round), THREADS_MAX (default 2), WIM=0 to skip the WIM
#   part, SXSAUDIT (the binary; default: built with `cargo build --release` in this checkout).
set -euo pipefail

SCALE=${SCALE:-full}
OUT=${OUT:-bench-results/compare.json}
REPEAT=${REPEAT:-3}
WIM=${WIM:-1}
P=${THREADS_MAX:-2}
DIR=
while [ $# -gt 0 ]; do
    case "$1" in
        --scale) SCALE=$2; shift 2 ;;
        --scale=*) SCALE=${1#*=}; shift ;;
        --out) OUT=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --no-wim) WIM=0; shift ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "compare.sh: unknown option $1" >&2; exit 64 ;;
        *) DIR=$1; shift ;;
    esac
done
DIR=${DIR:-${TMPDIR:-/tmp}/sxsaudit-bench-$SCALE}
REPO=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "compare.sh: $*" >&2; exit 1; }
command -v openssl >/dev/null || die "openssl is needed (the hash floor and a peer)"
command -v sha256sum >/dev/null || die "sha256sum is needed (a peer)"
[ -x /usr/bin/time ] || die "/usr/bin/time is needed for peak memory: apt-get install -y time"

if [ -z "${SXSAUDIT:-}" ]; then
    (cd "$REPO" && cargo build --release --quiet --bin sxsaudit) || die "cannot build sxsaudit"
    SXSAUDIT=${CARGO_TARGET_DIR:-$REPO/target}/release/sxsaudit
fi
[ -x "$SXSAUDIT" ] || die "no sxsaudit binary at $SXSAUDIT"
# The read-and-hash loop (examples/hashloop.rs): the audit's unavoidable work and nothing else.
if [ -z "${HASHLOOP:-}" ]; then
    (cd "$REPO" && cargo build --release --quiet --example hashloop) || die "cannot build examples/hashloop"
    HASHLOOP=${CARGO_TARGET_DIR:-$REPO/target}/release/examples/hashloop
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sxsaudit-compare.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# --- the image ---------------------------------------------------------------------------
if [ ! -d "$DIR/Windows/WinSxS/Manifests" ]; then
    echo "building a clean $SCALE-scale image in $DIR ..."
    "$SXSAUDIT" demo "$DIR" --scale "$SCALE" --clean --build-only ${PLAIN:+--plain}
fi
WS="$DIR/Windows/WinSxS"

# The payloads sxsaudit hashes: files under a component folder, not the f/ r/ n/
# differentials (never compared), not Manifests, Catalogs and the like.
( cd "$WS" && find . -mindepth 2 -type f -not -path './Manifests/*' -not -path './*/[frn]/*' \
    -not -path './Catalogs/*' -not -path './FileMaps/*' -not -path './Temp/*' -not -path './Backup/*' \
    -print0 ) > "$WORK/payloads"
NFILES=$(tr -cd '\0' < "$WORK/payloads" | wc -c)
BYTES=$(cd "$WS" && xargs -0 stat -c %s < "$WORK/payloads" | awk '{s+=$1} END {printf "%.0f", s}')
NMANIFESTS=$(find "$WS/Manifests" -maxdepth 1 -type f -name '*.manifest' | wc -l)
NDCM=$(find "$WS/Manifests" -maxdepth 1 -type f -name '*.manifest' -exec head -q -c 3 {} + 2>/dev/null | { grep -a -o DCM || true; } | wc -l)
echo "image: $DIR ($NMANIFESTS manifests, $NDCM of them DCM, $NFILES payloads, $BYTES bytes)"

# Warm the page cache: everything the runs below read (and check it fits in memory).
MEM_KB=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
if [ $(( BYTES / 1024 )) -gt $(( MEM_KB * 8 / 10 )) ]; then
    echo "warning: the payloads ($BYTES B) may not fit the page cache (${MEM_KB} KiB available)" >&2
fi
(cd "$WS" && xargs -0 -P"$P" -n 256 cat < "$WORK/payloads" > /dev/null)
cat "$WS"/Manifests/*.manifest > /dev/null 2>&1 || find "$WS/Manifests" -type f -exec cat {} + > /dev/null

# --- timing ------------------------------------------------------------------------------
# The figures are timed in rounds: each round runs every command once, in the order below,
# and each figure is the best (and the median) of its REPEAT runs. The machine is shared and
# its speed drifts within minutes; running each command's runs in one block let a slow phase
# fall on one figure and not on the one it is compared with, so a ratio moved by a tenth from
# one run of the script to the next. Interleaved, every figure sees the same phases.
#
# once NAME CMD...: one run, appended to $WORK/NAME.runs as "wall cpu rss exit", where cpu is
# user+sys of all processes and rss the largest peak RSS (KiB) of any one process. Runs under
# bash -c so pipelines and xargs work; time -v reports the largest waited-for descendant's
# maximum RSS. CPU time is reported beside wall time because other jobs on the machine
# stretch wall time, hardly CPU time.
once() {
    local name=$1; shift
    local t0 t1 rc c m
    t0=$(date +%s.%N)
    set +e
    /usr/bin/time -v -o "$WORK/$name.time" bash -c "$*" > "$WORK/$name.out" 2> "$WORK/$name.err"
    rc=$?
    set -e
    t1=$(date +%s.%N)
    c=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$WORK/$name.time")
    m=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/$name.time")
    echo "$(echo "$t1 - $t0" | bc -l) $c ${m:-0} $rc" >> "$WORK/$name.runs"
}
# summarize NAME: the best wall time into T_NAME and the median into MED_NAME (on a shared
# machine the best says what the code can do, the median how far the machine's mood moves
# it), the least CPU time into C_NAME, the largest peak RSS into M_NAME, the last exit status
# into RC_NAME.
summarize() {
    local name=$1 best med bestc bestm rc
    best=$(awk '{print $1}' "$WORK/$name.runs" | sort -g | head -1)
    med=$(awk '{print $1}' "$WORK/$name.runs" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
    bestc=$(awk '{print $2}' "$WORK/$name.runs" | sort -g | head -1)
    bestm=$(awk '{print $3}' "$WORK/$name.runs" | sort -g | tail -1)
    rc=$(awk '{print $4}' "$WORK/$name.runs" | tail -1)
    printf -v "T_$name" '%.3f' "$best"
    printf -v "MED_$name" '%.3f' "$med"
    printf -v "C_$name" '%.2f' "$bestc"
    printf -v "M_$name" '%s' "$bestm"
    printf -v "RC_$name" '%s' "$rc"
    printf '  %-22s %8.3f s wall (median %6.3f)  %7.2f s cpu   peak RSS %7d KiB   exit %s\n' "$name" "$best" "$med" "$bestc" "$bestm" "$rc"
}
ratio() { echo "scale=3; $1 / $2" | bc -l | sed 's/^\./0./'; }

FIGURES=(audit_t1 audit_t2 audit_quick hashloop hashloop_lanes read_floor xargs_cat xargs_sha256sum xargs_openssl)
declare -A CMD
CMD[audit_t1]="'$SXSAUDIT' audit '$DIR' --threads 1 --quiet --no-progress"
CMD[audit_t2]="'$SXSAUDIT' audit '$DIR' --threads $P --quiet --no-progress"
# The manifest stage: a quick audit reads, decodes and parses every manifest, checks its
# keyform, lists its component folder and finds every payload, but reads no payload.
CMD[audit_quick]="'$SXSAUDIT' audit '$DIR' --threads $P --quick --quiet --no-progress"
# The same payload list through the minimal read-and-hash loop, same threads.
CMD[hashloop]="cd '$WS' && '$HASHLOOP' '$WORK/payloads' $P"
# The same loop with the audit's hasher: several files a worker, their SHA-256 streams
# interleaved (crates/sha256x). What the audit adds to reading and hashing is measured
# against this one; the plain loop above is the floor issue 7 names.
CMD[hashloop_lanes]="cd '$WS' && '$HASHLOOP' '$WORK/payloads' $P --lanes"
# The I/O floor: every payload read, nothing hashed, by the same loop into the same
# page-aligned buffers. `xargs cat` is shown beside it: cat maps a fresh, misaligned buffer for
# every file, so it also times page faults and the slow misaligned copy (crates/iobuf).
CMD[read_floor]="cd '$WS' && '$HASHLOOP' '$WORK/payloads' $P --read-only"
CMD[xargs_cat]="cd '$WS' && xargs -0 -P$P -n 256 cat < '$WORK/payloads' > /dev/null"
CMD[xargs_sha256sum]="cd '$WS' && xargs -0 -P$P -n 256 sha256sum < '$WORK/payloads' > /dev/null"
CMD[xargs_openssl]="cd '$WS' && xargs -0 -P$P -n 256 openssl dgst -sha256 < '$WORK/payloads' > /dev/null"

# rounds NAME...: REPEAT rounds of the commands CMD[NAME], then their figures. The first
# audit of a clean image must exit 0, or nothing after it means anything.
rounds() {
    local name round rc
    for name in "$@"; do rm -f "$WORK/$name.runs"; done
    for ((round = 0; round < REPEAT; round++)); do
        for name in "$@"; do
            once "$name" "${CMD[$name]}"
            if [ "$round" = 0 ] && [ "$name" = audit_t2 ]; then
                rc=$(awk '{print $4}' "$WORK/audit_t2.runs")
                [ "$rc" = 0 ] || { cat "$WORK/audit_t2.err" >&2; die "the audit of a clean image exited $rc"; }
            fi
        done
    done
    for name in "$@"; do summarize "$name"; done
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "timings (best of $REPEAT rounds, each running every command once; warm cache; load average $LOAD0 on $(nproc) cores):"
rounds "${FIGURES[@]}"

# The hash floor: OpenSSL's one-core SHA-256 over 256 KiB buffers in memory (the same SHA-NI
# code path as sha2 0.11 within a few percent; `cargo bench --bench stages -- hash` gives
# sha2's own figure). openssl speed prints thousands of bytes per second.
HASH_KBPS=$(openssl speed -evp sha256 -bytes 262144 -seconds 3 2>/dev/null | awk '/^sha256|^SHA256/ {v=$NF; sub(/k$/, "", v); print v}' | tail -1)
[ -n "$HASH_KBPS" ] || die "cannot read the openssl speed figure"
HASH_BPS=$(echo "$HASH_KBPS * 1000" | bc -l)
HASH_FLOOR=$(echo "$BYTES / (2 * $HASH_BPS)" | bc -l)
FLOOR=$(echo "if ($T_read_floor > $HASH_FLOOR) $T_read_floor else $HASH_FLOOR" | bc -l)
printf '  %-22s %8.3f s   (%s bytes at %.0f MB/s per core, on 2 cores; openssl speed -evp sha256 -bytes 262144)\n' \
    hash_floor "$HASH_FLOOR" "$BYTES" "$(echo "$HASH_BPS / 1000000" | bc -l)"
printf '  %-22s %8.3f s   = max(read_floor, hash_floor), as issue 7 defines it\n' floor "$FLOOR"
# On 2 cores the copy out of the page cache and the hash share the same cores, so their sum
# is the floor a read()-and-hash loop can actually reach; shown beside the issue's max().
FLOOR_SUM=$(echo "$T_read_floor + $HASH_FLOOR" | bc -l)
printf '  %-22s %8.3f s   = read_floor + hash_floor\n' floor_sum "$FLOOR_SUM"
# The same in CPU seconds: what reading and hashing cost whatever else runs on the machine.
CPU_FLOOR=$(echo "$C_read_floor + $BYTES / $HASH_BPS" | bc -l)
printf '  %-22s %8.2f s cpu = read_floor cpu + bytes / hash rate\n' cpu_floor "$CPU_FLOOR"

# --- WIM ---------------------------------------------------------------------------------
WIM_STATUS=skipped WIMFILE= T_wim_sxsaudit= T_wimlib_verify= M_wim_sxsaudit=0 M_wimlib_verify=0
if [ "$WIM" = 1 ] && command -v wimlib-imagex >/dev/null; then
    WIMFILE="$DIR.wim"
    if [ ! -s "$WIMFILE" ]; then
        echo "capturing $WIMFILE (LZX) ..."
        wimlib-imagex capture "$DIR" "$WIMFILE" --compress=LZX > "$WORK/capture.log" 2>&1 || die "wimlib-imagex capture failed"
    fi
    cat "$WIMFILE" > /dev/null
    set +e
    "$SXSAUDIT" audit "$WIMFILE" --quiet --no-progress > /dev/null 2> "$WORK/wimprobe.err"
    rc=$?
    set -e
    if [ "$rc" = 66 ] || [ "$rc" = 64 ]; then
        echo "  skipped: sxsaudit cannot read WIM yet ($(head -c 200 "$WORK/wimprobe.err"))"
        WIM_STATUS="skipped: sxsaudit cannot read WIM yet"
    else
        CMD[wim_sxsaudit]="'$SXSAUDIT' audit '$WIMFILE' --threads $P --quiet --no-progress"
        CMD[wimlib_verify]="wimlib-imagex verify '$WIMFILE'"
        rounds wim_sxsaudit wimlib_verify
        WIM_STATUS="measured (sxsaudit exit $RC_wim_sxsaudit)"
    fi
    if [ -z "${T_wimlib_verify:-}" ]; then
        CMD[wimlib_verify]="wimlib-imagex verify '$WIMFILE'"
        rounds wimlib_verify
    fi
elif [ "$WIM" = 1 ]; then
    echo "  skipped: wimlib-imagex not installed"
    WIM_STATUS="skipped: wimlib-imagex not installed"
fi

# --- ratios ------------------------------------------------------------------------------
R_FLOOR=$(ratio "$T_audit_t2" "$FLOOR")
R_HASHLOOP=$(ratio "$T_audit_t2" "$T_hashloop")
R_HASHLOOP_LANES=$(ratio "$T_audit_t2" "$T_hashloop_lanes")
R_HASHLOOP_MED=$(ratio "$MED_audit_t2" "$MED_hashloop")
R_HASHLOOP_LANES_MED=$(ratio "$MED_audit_t2" "$MED_hashloop_lanes")
MANIFESTS_S=$(echo "scale=0; $NMANIFESTS / $T_audit_quick" | bc -l)
MANIFESTS_S_MED=$(echo "scale=0; $NMANIFESTS / $MED_audit_quick" | bc -l)
R_SHA256SUM=$(ratio "$T_xargs_sha256sum" "$T_audit_t2")
R_OPENSSL=$(ratio "$T_xargs_openssl" "$T_audit_t2")
R_THREADS=$(ratio "$T_audit_t1" "$T_audit_t2")
R_FLOOR_SUM=$(ratio "$T_audit_t2" "$FLOOR_SUM")
R_CPU=$(ratio "$C_audit_t2" "$CPU_FLOOR")
R_CPU_SHA256SUM=$(ratio "$C_xargs_sha256sum" "$C_audit_t2")
R_CPU_OPENSSL=$(ratio "$C_xargs_openssl" "$C_audit_t2")
MB_S=$(echo "scale=0; $BYTES / $T_audit_t2 / 1000000" | bc -l)
ok() { [ "$(echo "$1" | bc -l)" = 1 ] && echo met || echo MISSED; }
echo "ratios (issue 7 targets):"
printf '  audit / floor            %6s   (target <= 1.15: %s)\n' "$R_FLOOR" "$(ok "$R_FLOOR <= 1.15")"
printf '  xargs sha256sum / audit  %6s   (target >= 3.5:  %s)\n' "$R_SHA256SUM" "$(ok "$R_SHA256SUM >= 3.5")"
printf '  xargs openssl / audit    %6s   (target >= 1.5:  %s)\n' "$R_OPENSSL" "$(ok "$R_OPENSSL >= 1.5")"
printf '  audit 1 thread / %s      %6s   (target >= 1.8:  %s)\n' "$P" "$R_THREADS" "$(ok "$R_THREADS >= 1.8")"
printf '  audit / (read + hash)    %6s   (same, with the floors added, not max)\n' "$R_FLOOR_SUM"
printf '  audit / hashloop         %6s   (the minimal read-and-hash loop over the same files, one sha2 stream a thread, the floor issue 7 names; target <= 1.15: %s; %s by medians)\n' "$R_HASHLOOP" "$(ok "$R_HASHLOOP <= 1.15")" "$R_HASHLOOP_MED"
printf '  audit / hashloop --lanes %6s   (the same loop with the audit'"'"'s interleaved hasher: what manifests and bookkeeping add; %s by medians)\n' "$R_HASHLOOP_LANES" "$R_HASHLOOP_LANES_MED"
printf '  manifest stage           %6s manifests/s on %s threads (quick audit; target >= 40,000 for plain manifests; %s at the median)\n' "$MANIFESTS_S" "$P" "$MANIFESTS_S_MED"
printf '  cpu: audit / floor       %6s   cpu: sha256sum / audit %s   cpu: openssl / audit %s\n' "$R_CPU" "$R_CPU_SHA256SUM" "$R_CPU_OPENSSL"
printf '  audit peak RSS         %6d KiB  (target < 200 MB: %s)\n' "$M_audit_t2" "$(ok "$M_audit_t2 * 1024 < 200000000")"
printf '  audit throughput         %6s MB/s on %s threads\n' "$MB_S" "$P"
R_WIM=null
if [ -n "$T_wim_sxsaudit" ] && [ -n "$T_wimlib_verify" ]; then
    R_WIM=$(ratio "$T_wimlib_verify" "$T_wim_sxsaudit")
    printf '  wimlib verify / sxsaudit WIM audit %s\n' "$R_WIM"
fi

# --- JSON --------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
num() { [ -n "$1" ] && echo "$1" || echo null; }
cat > "$OUT" <<EOF
{
  "schema": "sxsaudit-compare/1",
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "machine": {"cpu": "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)", "cores": $(nproc), "sha_ni": $(grep -q sha_ni /proc/cpuinfo && echo true || echo false), "mem_kib": $(awk '/MemTotal/ {print $2}' /proc/meminfo)},
  "sxsaudit": {"binary": "$SXSAUDIT", "version": "$("$SXSAUDIT" --version | awk '{print $2}')", "git": "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO" diff --quiet HEAD -- src 2>/dev/null || echo -dirty)"},
  "image": {"dir": "$DIR", "scale": "$SCALE", "manifests_compressed": $NDCM, "manifests": $NMANIFESTS, "payloads": $NFILES, "payload_bytes": $BYTES},
  "method": {"repeat": $REPEAT, "statistic": "min wall time (and the median, in median_seconds) of REPEAT rounds, each round running every command once in turn", "cache": "warm", "threads": $P, "xargs": "-0 -P$P -n 256", "read_floor": "examples/hashloop --read-only: rayon, read() into page-aligned 256 KiB buffers", "hash_floor": "openssl speed -evp sha256 -bytes 262144 -seconds 3, one core"},
  "seconds": {
    "audit_1_thread": $T_audit_t1,
    "audit_${P}_threads": $T_audit_t2,
    "read_floor": $T_read_floor,
    "xargs_cat": $T_xargs_cat,
    "hash_floor": $(printf '%.3f' "$HASH_FLOOR"),
    "floor": $(printf '%.3f' "$FLOOR"),
    "floor_sum": $(printf '%.3f' "$FLOOR_SUM"),
    "hashloop": $T_hashloop,
    "hashloop_lanes": $T_hashloop_lanes,
    "audit_quick": $T_audit_quick,
    "xargs_sha256sum": $T_xargs_sha256sum,
    "xargs_openssl_dgst": $T_xargs_openssl,
    "wim_sxsaudit": $(num "$T_wim_sxsaudit"),
    "wimlib_verify": $(num "$T_wimlib_verify")
  },
  "median_seconds": {"audit_1_thread": $MED_audit_t1, "audit_${P}_threads": $MED_audit_t2, "audit_quick": $MED_audit_quick, "hashloop": $MED_hashloop, "hashloop_lanes": $MED_hashloop_lanes, "read_floor": $MED_read_floor, "xargs_cat": $MED_xargs_cat, "xargs_sha256sum": $MED_xargs_sha256sum, "xargs_openssl_dgst": $MED_xargs_openssl, "wim_sxsaudit": $(num "${MED_wim_sxsaudit:-}"), "wimlib_verify": $(num "${MED_wimlib_verify:-}")},
  "cpu_seconds": {"hashloop": $C_hashloop, "hashloop_lanes": $C_hashloop_lanes, "audit_quick": $C_audit_quick, "audit_1_thread": $C_audit_t1, "audit_${P}_threads": $C_audit_t2, "read_floor": $C_read_floor, "xargs_cat": $C_xargs_cat, "floor": $(printf '%.2f' "$CPU_FLOOR"), "xargs_sha256sum": $C_xargs_sha256sum, "xargs_openssl_dgst": $C_xargs_openssl},
  "load_average_before": "$LOAD0",
  "load_average_after": "$(cut -d' ' -f1-3 /proc/loadavg)",
  "sha256_bytes_per_second_one_core": $(printf '%.0f' "$HASH_BPS"),
  "peak_rss_kib": {"audit_1_thread": $M_audit_t1, "audit_${P}_threads": $M_audit_t2, "xargs_sha256sum": $M_xargs_sha256sum, "xargs_openssl_dgst": $M_xargs_openssl, "wim_sxsaudit": $M_wim_sxsaudit, "wimlib_verify": $M_wimlib_verify},
  "ratios": {
    "audit_over_floor": $R_FLOOR,
    "sha256sum_over_audit": $R_SHA256SUM,
    "openssl_over_audit": $R_OPENSSL,
    "one_thread_over_${P}": $R_THREADS,
    "audit_over_floor_sum": $R_FLOOR_SUM,
    "audit_over_hashloop": $R_HASHLOOP,
    "audit_over_hashloop_median": $R_HASHLOOP_MED,
    "audit_over_hashloop_lanes": $R_HASHLOOP_LANES,
    "audit_over_hashloop_lanes_median": $R_HASHLOOP_LANES_MED,
    "manifests_per_second_quick": $MANIFESTS_S,
    "manifests_per_second_quick_median": $MANIFESTS_S_MED,
    "cpu_audit_over_cpu_floor": $R_CPU,
    "cpu_sha256sum_over_audit": $R_CPU_SHA256SUM,
    "cpu_openssl_over_audit": $R_CPU_OPENSSL,
    "wimlib_verify_over_wim_audit": $R_WIM
  },
  "targets": {"audit_over_floor": 1.15, "audit_over_hashloop": 1.15, "sha256sum_over_audit": 3.5, "openssl_over_audit": 1.5, "one_thread_over_2": 1.8, "peak_rss_bytes": 200000000},
  "wim": {"file": "$WIMFILE", "status": "$WIM_STATUS"}
}
EOF
echo "wrote $OUT"
