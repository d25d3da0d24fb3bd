#!/usr/bin/env bash
# The README's picture of a drill report, made again from the demo: drills the demo plan that
# scripts/setup.sh wrote (demo/lifeboat.yaml: both services from the secondary site, as setup.sh's
# last step does) with --html, opens the page in headless Chromium with check_page.py (which fails
# on any console error and on anything fetched) and keeps the top of it, the summary and the
# recovery timeline, as a PNG.
#
#   bash scripts/setup.sh && bash tests/report/screenshot.sh [OUT.png]   # default doc/img/drill-report.png
#
# LIFEBOAT_BIN chooses the binary (default build/release/src/cli/lifeboat). Needs Debian's
# chromium (scripts/install-deps.sh --servers). The drill's sandbox is made in demo/drills and
# removed; the page is written into a temporary directory, removed at exit. Exits 0 when the
# picture was saved (and is under 200 KB, so the repository stays small), 1 otherwise.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
lifeboat="${LIFEBOAT_BIN:-$root/build/release/src/cli/lifeboat}"
out="${1:-$root/doc/img/drill-report.png}"
demo="$root/demo"
if [ ! -f "$demo/lifeboat.yaml" ]; then
  echo "screenshot.sh: $demo/lifeboat.yaml is missing: run scripts/setup.sh first" >&2
  exit 1
fi
[ -x "$lifeboat" ] || { echo "screenshot.sh: no lifeboat binary at $lifeboat" >&2; exit 1; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-screenshot-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$demo/cache"
# Exit 3 (a service failed) still gives a page worth looking at, but not the README's picture.
"$lifeboat" drill --all --site secondary --plan "$demo/lifeboat.yaml" --sandbox "$demo/drills" \
  --html "$tmp/drill-report.html" --quiet
/usr/bin/python3 "$root/tests/report/check_page.py" --screenshot-dir "$tmp" --min-svg 1 \
  --width 1000 --max-height 760 --text "PASSED: 2 passed, 0 failed, 0 skipped." \
  --text "Recovery timeline" "$tmp/drill-report.html"
mkdir -p "$(dirname "$out")"
cp "$tmp/drill-report.png" "$out"
size=$(stat -c %s "$out")
echo "screenshot.sh: $out ($size bytes)"
if [ "$size" -ge 204800 ]; then
  echo "screenshot.sh: $out is over 200 KB: cut it (--max-height) or narrow it (--width)" >&2
  exit 1
fi
