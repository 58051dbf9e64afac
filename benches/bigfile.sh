#!/usr/bin/env bash
# Why this exists: issue 7 asks that peak memory grow with the number of manifests, not with
# payload sizes ("a 4 GB payload must not raise it"). This builds a Tiny image twice, replaces
# one payload of the second with a 4 GiB sparse file whose SHA-256 is put in its manifest, and
# audits both: the audit must pass (so the 4 GiB were read and hashed) and its peak RSS must
# stay where the untouched image's is.
#
# Usage: benches/bigfile.sh [SIZE]   (SIZE for truncate -s; default 4G). Needs /usr/bin/time,
# python3, and SIZE of free space only in name (the file is sparse). SXSAUDIT as in compare.sh.
set -euo pipefail
SIZE=${1:-4G}
REPO=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${SXSAUDIT:-}" ]; then
    (cd "$REPO" && cargo build --release --quiet --bin sxsaudit)
    SXSAUDIT=${CARGO_TARGET_DIR:-$REPO/target}/release/sxsaudit
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sxsaudit-bigfile.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
for img in small big; do
    "$SXSAUDIT" demo "$WORK/$img" --scale tiny --clean --plain --build-only --quiet
    # The hives record each manifest's SHA-256 (S256H): the edited manifest would differ.
    rm -rf "$WORK/$img/Windows/System32/config"
done
# Replace the first SHA-256 payload of the big image and write its digest into the manifest.
python3 - "$WORK/big/Windows/WinSxS" "$SIZE" <<'PY'
import base64, hashlib, os, re, subprocess, sys
ws, size = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(os.path.join(ws, "Manifests"))):
    path = os.path.join(ws, "Manifests", name)
    text = open(path, encoding="utf-8").read()
    inside = r'(?:(?!</file>).)*?'  # stay within one <file> element
    m = re.search(r'<file name="([^"\\]+)"[^>]*>' + inside + r'DigestMethod Algorithm="[^"]*sha256"' + inside + r'<dsig:DigestValue>([^<]+)</dsig:DigestValue>', text, re.S)
    if not m:
        continue
    folder = os.path.join(ws, name[: -len(".manifest")])
    payload = os.path.join(folder, m.group(1))
    if not os.path.isfile(payload):
        continue
    os.remove(payload)
    subprocess.run(["truncate", "-s", size, payload], check=True)
    n = os.path.getsize(payload)
    h = hashlib.sha256()
    zeros = bytes(1 << 20)
    for _ in range(n >> 20):
        h.update(zeros)
    h.update(bytes(n & ((1 << 20) - 1)))
    digest = base64.b64encode(h.digest()).decode()
    text = text[: m.start(2)] + digest + text[m.end(2):]
    open(path, "w", encoding="utf-8").write(text)
    print(f"{payload}: {n} bytes, sparse")
    break
else:
    sys.exit("no SHA-256 payload found")
PY
for img in small big; do
    set +e
    /usr/bin/time -f "%M" -o "$WORK/$img.rss" "$SXSAUDIT" audit "$WORK/$img" --quiet --no-progress --threads 2
    rc=$?
    set -e
    echo "$img: exit $rc, peak RSS $(cat "$WORK/$img.rss") KiB"
    [ "$rc" = 0 ] || { echo "bigfile.sh: the audit of $img exited $rc" >&2; exit 1; }
done
