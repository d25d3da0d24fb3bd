# shellcheck shell=bash disable=SC2034,SC2154,SC2317  # globals shared with the sourcing scripts
# Shell functions shared by the benchmark scripts (bench/run.sh, bench/lifecycle.sh,
# bench/remote.sh). Source it
# after setting:
#   REPO_ROOT  the repository root          BENCH_DIR  $REPO_ROOT/bench
#   WORK       the work directory (exists)  BUILD_DIR  CMake build dir with the bench helpers
#   DATA       where datasets are kept (exists)
# and, for extract_kernel_v1 and the prepare_<dataset> functions, `kernel_subset` (empty = the
# whole tree), `image_size`, `image_extent` and `seed`.
# Nothing here runs on its own; it only defines functions and constants.

readonly PASSWORD="lifeboat-bench-password"
readonly KERNEL_TARBALL=/usr/src/linux-source-6.1.tar.xz
readonly KERNEL_PACKAGE=linux-source-6.1
readonly TIME_BIN=/usr/bin/time

die() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# ---------------------------------------------------------------------------------------------
# Packages

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {  # apt_install PACKAGE...: installs the packages (apt-get update once per run).
  log "installing $*"
  if [[ $apt_updated -eq 0 ]]; then
    as_root apt-get update -q >&2 || return 1
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}

need_command() {  # need_command COMMAND PACKAGE: installs PACKAGE if COMMAND is missing.
  command -v "$1" >/dev/null 2>&1 || apt_install "$2" || return 1
  command -v "$1" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------------
# CPU pinning: sets `pin` (the taskset prefix, possibly empty) and `cpu_note` (for the report).
# CPUS is the CPU list (BENCH_CPUS).

setup_pinning() {
  pin=()
  if command -v taskset >/dev/null 2>&1 && [[ $(nproc --all) -ge 2 ]]; then
    pin=(taskset -c "$CPUS")
    cpu_note="all tools pinned to CPUs $CPUS with taskset (2 cores); restic also gets GOMAXPROCS=2"
  else
    cpu_note="taskset unavailable or fewer than 2 CPUs: tools not pinned; restic gets GOMAXPROCS=2"
  fi
}

# ---------------------------------------------------------------------------------------------
# Helpers and data

# Builds (or finds) a dataset helper: $BUILD_DIR/bench/<name> if CMake built it, else compiles
# the single source file into $WORK/bin.
helper() {  # helper TARGET SOURCE -> prints the path of the binary
  local target=$1 source=$BENCH_DIR/$2
  if [[ -x $BUILD_DIR/bench/$target && $BUILD_DIR/bench/$target -nt $source ]]; then
    echo "$BUILD_DIR/bench/$target"
    return
  fi
  mkdir -p "$WORK/bin"
  if [[ ! -x $WORK/bin/$target || $source -nt $WORK/bin/$target ]]; then
    log "compiling $target"
    "${CXX:-c++}" -std=c++20 -O2 -Wall -Wextra -o "$WORK/bin/$target" "$source" >&2 ||
      die "cannot compile $source"
  fi
  echo "$WORK/bin/$target"
}

warm() {  # warm PATH...: reads every file once so the step runs on a warm page cache.
  local paths=() path
  for path in "$@"; do [[ -e $path ]] && paths+=("$path"); done  # missing ones: nothing to read
  [[ ${#paths[@]} -eq 0 ]] || find "${paths[@]}" -type f -print0 | xargs -0 -r cat >/dev/null
}

tree_stats() {  # tree_stats DIR -> "N files, X MiB" (regular files, without our marker)
  find "$1" -type f ! -path "$1/.complete" -printf '%s\n' |
    awk '{ n++; b += $1 } END { printf "%d file%s, %.1f MiB", n, n == 1 ? "" : "s", b / 1048576 }'
}

# Where a restore of $live into $target ended up (uses the globals `live` and `target`): restic
# and borg keep the absolute path.
restored_root() {
  local candidate first
  first=$(find "$live" -mindepth 1 -maxdepth 1 -printf '%f' -quit)
  for candidate in "$target$live" "$target/$(basename "$live")" "$target"; do
    if [[ -e $candidate/$first ]]; then
      echo "$candidate"
      return
    fi
  done
  echo "$target$live"
}

# Extracts the kernel tree (or the paths in `kernel_subset`) once into $DATA and sets
# `kernel_key` (full or subset-<paths>) and `v1_dir`. Installs linux-source-6.1 if needed.
extract_kernel_v1() {
  local top
  if [[ ! -f $KERNEL_TARBALL ]]; then
    apt_install "$KERNEL_PACKAGE" || die "cannot install $KERNEL_PACKAGE"
    [[ -f $KERNEL_TARBALL ]] || die "$KERNEL_PACKAGE did not provide $KERNEL_TARBALL"
  fi
  kernel_key=full
  [[ -n $kernel_subset ]] && kernel_key=subset-$(tr -c 'A-Za-z0-9._-' '_' <<<"$kernel_subset" | sed 's/_$//')
  v1_dir="$DATA/kernel-$kernel_key-v1"
  if [[ ! -f $v1_dir/.complete ]]; then
    log "extracting $KERNEL_TARBALL${kernel_subset:+ (subset: $kernel_subset)}"
    top=$(tar -tJf "$KERNEL_TARBALL" | head -n1 | cut -d/ -f1) || true
    [[ -n $top ]] || die "cannot list $KERNEL_TARBALL"
    local members=()
    if [[ -n $kernel_subset ]]; then
      local path
      IFS=, read -r -a paths <<<"$kernel_subset"
      for path in "${paths[@]}"; do members+=("$top/${path#/}"); done
    fi
    rm -rf "$v1_dir" "$v1_dir.tmp" && mkdir -p "$v1_dir.tmp"
    tar -xJf "$KERNEL_TARBALL" -C "$v1_dir.tmp" --wildcards "${members[@]}" ||
      die "extracting $KERNEL_TARBALL failed"
    mv "$v1_dir.tmp/$top" "$v1_dir" && rmdir "$v1_dir.tmp"
    touch "$v1_dir/.complete"
  fi
}

kernel_source_note() {  # "Linux 6.1 source (TARBALL, VERSION[, subset: ...])"
  echo "Linux 6.1 source ($KERNEL_TARBALL, $(dpkg-query -W -f='${Version}' \
"$KERNEL_PACKAGE" 2>/dev/null || echo '?')${kernel_subset:+, subset: $kernel_subset})"
}

# ---------------------------------------------------------------------------------------------
# Datasets: prepare_<name> sets v1_dir and v2_dir (read-only masters, generated once into $DATA
# and reused) and dataset_note (for the report). They read the globals image_size, image_extent,
# seed and kernel_subset (the scripts' options of the same names).

prepare_image() {
  local make_image name
  make_image=$(helper lifeboat_bench_make_image make_image.cc)
  name="image-$image_size-seed$seed"
  v1_dir="$DATA/$name-v1"
  v2_dir="$DATA/$name-extent$image_extent-v2"
  local variant dir
  for variant in 1 2; do
    dir=$v1_dir
    [[ $variant -eq 2 ]] && dir=$v2_dir
    if [[ ! -f $dir/.complete ]]; then
      log "generating $dir"
      rm -rf "$dir" && mkdir -p "$dir"
      "$make_image" --size "$image_size" --seed "$seed" --variant "$variant" \
        --extent-blocks "$image_extent" "$dir/disk.img" || die "make_image failed"
      touch "$dir/.complete"
    fi
  done
  local where="scattered single blocks"
  [[ $image_extent -gt 1 ]] && where="extents of 1-$image_extent consecutive blocks"
  dataset_note="disk-image-like file, $image_size, seed $seed: random and zero runs of 64 KiB-8 MiB. \
v2: ~1% of 4 KiB blocks rewritten with new random data ($where), 64 KiB inserted at offset 1 MiB."
}

prepare_kernel() {
  local mutate_tree
  mutate_tree=$(helper lifeboat_bench_mutate_tree mutate_tree.cc)
  extract_kernel_v1
  v2_dir="$DATA/kernel-$kernel_key-seed$seed-v2"
  if [[ ! -f $v2_dir/.complete ]]; then
    log "creating $v2_dir"
    rm -rf "$v2_dir" && cp -a "$v1_dir" "$v2_dir" && rm -f "$v2_dir/.complete"
    "$mutate_tree" --seed "$seed" "$v2_dir" || die "mutate_tree failed"
    touch "$v2_dir/.complete"
  fi
  dataset_note="$(kernel_source_note). \
v2 (seed $seed): 1% of files edited in the middle, 0.2% deleted, 0.2% edited copies added."
}

# ---------------------------------------------------------------------------------------------
# Report pieces

tool_version() {
  case $1 in
    restic) restic version 2>/dev/null | head -n1 ;;
    borg) borg --version 2>/dev/null ;;
    lifeboat)
      local v
      v=$(timeout 10 "$LIFEBOAT" version 2>/dev/null | head -n1) || v=
      [[ -n $v ]] || v=$(timeout 10 "$LIFEBOAT" --version 2>/dev/null | head -n1) || v=
      echo "${v:-lifeboat (version unknown)} [$LIFEBOAT]" ;;
  esac
}

host_line() {  # "- Host: CPU model, N CPUs, X GiB RAM, Linux release"
  echo "- Host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc --all) CPUs, \
$(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
}
