#!/usr/bin/env bash
# Set-up command 1: installs what is missing, builds Lifeboat, and runs its main job on an
# embedded default: back up a sample directory into a local repository, list the snapshots,
# restore into a new directory and verify the restore, printing each step.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

echo "==> 1/6 installing dependencies (Debian packages, only if missing)"
bash scripts/install-deps.sh
echo "==> 2/6 building (release)"
bash scripts/build.sh release
lifeboat="$root/build/release/src/cli/lifeboat"

demo="$root/demo"
rm -rf "$demo"
mkdir -p "$demo/sample"
echo "==> 3/6 creating a sample directory in $demo/sample"
cp -r "$root/doc" "$root/src" "$demo/sample/"
head -c 8388608 /dev/urandom > "$demo/sample/random.bin"
ln -s doc/repository-format.md "$demo/sample/format-link"

export LIFEBOAT_REPOSITORY="$demo/repo"
export LIFEBOAT_PASSWORD="demo-password-change-me"
echo "==> 4/6 lifeboat init + backup (repository: $LIFEBOAT_REPOSITORY)"
"$lifeboat" init
"$lifeboat" backup --tag demo "$demo/sample"
echo "    second backup (incremental: nothing changed)"
"$lifeboat" backup --tag demo "$demo/sample"
echo "==> 5/6 lifeboat snapshots"
"$lifeboat" snapshots
echo "==> 6/6 lifeboat restore latest + verify"
"$lifeboat" restore latest --target "$demo/restore" --verify
if diff -r --no-dereference "$demo/sample" "$demo/restore$demo/sample"; then
  echo "==> OK: the restored tree is identical to the sample (diff -r), and lifeboat verified it"
else
  echo "==> FAILED: the restored tree differs from the sample" >&2
  exit 1
fi
