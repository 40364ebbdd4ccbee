#!/usr/bin/env bash
# Build a small test kernel for tundrill's microVM backend from Debian's
# kernel source package, optionally with one named patch applied.
#
#   kernels/build-test-kernel.sh                          # stock
#   kernels/build-test-kernel.sh --patch tun-no-skb-orphan
#
# Takes minutes the first time (tinyconfig plus kernels/microvm.config,
# everything built in); a second kernel from the same tree after a
# one-file patch is an incremental rebuild of seconds. Results are cached:
#
#   ${TUNDRILL_CACHE:-${XDG_CACHE_HOME:-~/.cache}/tundrill}/kernels/<version>-<name>/
#       vmlinux  (ELF, booted by qemu through its PVH note)
#       bzImage  config  build.log  build.json
#
# and a request whose patch, config fragment and source are unchanged is
# answered from the cache. The one build tree lives in kernels/src/ of the
# cache; the script reverts a previous patch before applying the next.
#
# Needs (Debian 12): apt-get install --no-install-recommends linux-source-6.1 \
#   build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils
# Exit status: 0 built or cached, 1 build failed, 2 usage, 4 missing tools.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment="$here/microvm.config"
source_tarball=/usr/src/linux-source-6.1.tar.xz
jobs=2
patch_arg=""
force=0

usage() {
  cat >&2 <<EOF
usage: kernels/build-test-kernel.sh [--patch NAME|FILE] [--source TARBALL] [-j N] [--force]
  --patch NAME   apply kernels/patches/NAME.patch (or a patch file) with patch -p1
  --source FILE  kernel source tarball (default $source_tarball)
  -j N           parallel make jobs (default 2)
  --force        rebuild even when the cache has this kernel
EOF
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --patch) [ $# -ge 2 ] || usage; patch_arg=$2; shift 2 ;;
    --source) [ $# -ge 2 ] || usage; source_tarball=$2; shift 2 ;;
    -j) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
    -j*) jobs=${1#-j}; shift ;;
    --force) force=1; shift ;;
    -h|--help) usage ;;
    *) echo "build-test-kernel: unknown argument '$1'" >&2; usage ;;
  esac
done
case "$jobs" in ''|*[!0-9]*) echo "build-test-kernel: -j wants a number, got '$jobs'" >&2; exit 2 ;; esac

name=stock
patch_file=""
if [ -n "$patch_arg" ]; then
  if [ -f "$patch_arg" ]; then patch_file=$(cd "$(dirname "$patch_arg")" && pwd)/$(basename "$patch_arg")
  elif [ -f "$here/patches/$patch_arg.patch" ]; then patch_file="$here/patches/$patch_arg.patch"
  else
    echo "build-test-kernel: no patch '$patch_arg' (neither a file nor $here/patches/$patch_arg.patch)" >&2
    exit 2
  fi
  name=$(basename "$patch_file" .patch)
  [ "$name" != stock ] || { echo "build-test-kernel: a patch may not be called 'stock'" >&2; exit 2; }
fi

missing=()
for tool in make gcc bc bison flex patch xz tar sha256sum flock; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -e /usr/include/libelf.h ] || missing+=("libelf-dev")
[ -e /usr/include/openssl/ssl.h ] || missing+=("libssl-dev")
[ -f "$source_tarball" ] || missing+=("$source_tarball")
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-test-kernel: missing ${missing[*]}: run apt-get install --no-install-recommends linux-source-6.1 build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils" >&2
  exit 4
fi

if [ -n "${TUNDRILL_CACHE:-}" ]; then cache=$TUNDRILL_CACHE
elif [ -n "${XDG_CACHE_HOME:-}" ] && [ "${XDG_CACHE_HOME#/}" != "$XDG_CACHE_HOME" ]; then cache=$XDG_CACHE_HOME/tundrill
else cache=$HOME/.cache/tundrill
fi
kernels=$cache/kernels
src_root=$kernels/src
mkdir -p "$src_root"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
t0=$(now)

# One build at a time per cache (the tree is shared between names).
exec 9>"$src_root/.lock"
flock 9

tar_id=$(stat -c '%s-%Y' "$source_tarball")
tree_name=$(basename "$source_tarball" .tar.xz)
tree=$src_root/$tree_name
if [ ! -f "$tree/.tundrill-unpacked" ] || [ "$(cat "$tree/.tundrill-unpacked")" != "$tar_id" ]; then
  echo "unpacking $source_tarball into $tree"
  rm -rf "$tree"
  mkdir -p "$tree.tmp"
  tar -xJf "$source_tarball" -C "$tree.tmp" --strip-components=1
  mv "$tree.tmp" "$tree"
  echo "$tar_id" > "$tree/.tundrill-unpacked"
fi

kversion=$(make -s -C "$tree" kernelversion 2>/dev/null)
out=$kernels/$kversion-$name
patch_sum=none
[ -z "$patch_file" ] || patch_sum=$(sha256sum < "$patch_file" | cut -c1-16)
frag_sum=$(sha256sum < "$fragment" | cut -c1-16)
key="source=$tar_id fragment=$frag_sum patch=$patch_sum"

if [ $force -eq 0 ] && [ -f "$out/vmlinux" ] && [ -f "$out/build.key" ] && [ "$(cat "$out/build.key")" = "$key" ]; then
  echo "cached: $out/vmlinux ($(stat -c %s "$out/vmlinux") bytes; built in $(sed -n 's/.*"seconds": *\([0-9.]*\).*/\1/p' "$out/build.json" | head -1) s)"
  exit 0
fi

# Take the tree back to the source as unpacked, then apply this patch.
if [ -f "$tree/.tundrill-patch" ]; then
  applied=$(cat "$tree/.tundrill-patch")
  if [ "$applied" != "$patch_file" ]; then
    echo "reverting $(basename "$applied")"
    patch -d "$tree" -p1 -R --quiet < "$tree/.tundrill-patch.diff"
    rm -f "$tree/.tundrill-patch" "$tree/.tundrill-patch.diff"
  elif ! cmp -s "$patch_file" "$tree/.tundrill-patch.diff"; then
    echo "reverting the previous version of $(basename "$applied")"
    patch -d "$tree" -p1 -R --quiet < "$tree/.tundrill-patch.diff"
    rm -f "$tree/.tundrill-patch" "$tree/.tundrill-patch.diff"
  fi
fi
if [ -n "$patch_file" ] && [ ! -f "$tree/.tundrill-patch" ]; then
  echo "applying $(basename "$patch_file")"
  if ! patch -d "$tree" -p1 --forward --quiet < "$patch_file"; then
    echo "build-test-kernel: $patch_file does not apply to $tree_name ($kversion): fix the patch's context" >&2
    exit 1
  fi
  cp "$patch_file" "$tree/.tundrill-patch.diff"
  echo "$patch_file" > "$tree/.tundrill-patch"
fi

mkdir -p "$out"
log=$out/build.log
: > "$log"
mk() { make -C "$tree" ARCH=x86_64 "$@" >> "$log" 2>&1; }
fail() { echo "build-test-kernel: $1 failed; the last lines of $log:" >&2; tail -n 25 "$log" >&2; exit 1; }

# Configure only when the fragment changed: an unchanged .config keeps the
# next build incremental.
full=0
if [ ! -f "$tree/.tundrill-config" ] || [ "$(cat "$tree/.tundrill-config")" != "$frag_sum" ] || [ ! -f "$tree/.config" ]; then
  full=1
  echo "configuring: tinyconfig + $(basename "$fragment")"
  mk tinyconfig || fail "make tinyconfig"
  (cd "$tree" && KCONFIG_CONFIG=.config ./scripts/kconfig/merge_config.sh -m .config "$fragment" >> "$log" 2>&1) || fail "merge_config.sh"
  mk olddefconfig || fail "make olddefconfig"
  # Every option the fragment names must survive olddefconfig (a missing
  # dependency would drop it silently).
  lost=()
  while IFS= read -r line; do
    case "$line" in
      CONFIG_*=*) grep -qxF "$line" "$tree/.config" || lost+=("$line") ;;
      "# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt% is not set}
        grep -q "^$opt=" "$tree/.config" && lost+=("$line") ;;
    esac
  done < "$fragment"
  if [ ${#lost[@]} -gt 0 ]; then
    echo "build-test-kernel: olddefconfig did not keep: ${lost[*]} (see $tree/.config; a dependency of theirs is missing from $(basename "$fragment"))" >&2
    exit 1
  fi
  echo "$frag_sum" > "$tree/.tundrill-config"
fi

echo "building $kversion-$name with -j$jobs (log: $log)"
tb=$(now)
mk -j"$jobs" LOCALVERSION="-tundrill-$name" bzImage || fail "make bzImage"
te=$(now)

cp "$tree/vmlinux" "$out/vmlinux.tmp" && mv "$out/vmlinux.tmp" "$out/vmlinux"
cp "$tree/arch/x86/boot/bzImage" "$out/bzImage"
cp "$tree/.config" "$out/config"
release=$(cat "$tree/include/config/kernel.release")
vm_size=$(stat -c %s "$out/vmlinux")
bz_size=$(stat -c %s "$out/bzImage")
build_s=$(secs "$tb" "$te")
total_s=$(secs "$t0" "$(now)")
kind=incremental
[ $full -eq 0 ] || kind=full
# What make actually compiled: an interrupted build that resumes is
# "incremental" by configuration but may compile most of the tree.
compiled=$(grep -c '^  CC ' "$log" || true)
cat > "$out/build.json" <<EOF
{
  "version": "$kversion",
  "release": "$release",
  "name": "$name",
  "patch": "${patch_file:+$(basename "$patch_file")}",
  "patchSha256": "$patch_sum",
  "fragmentSha256": "$frag_sum",
  "source": "$source_tarball",
  "jobs": $jobs,
  "build": "$kind",
  "objectsCompiled": $compiled,
  "seconds": $build_s,
  "totalSeconds": $total_s,
  "vmlinuxBytes": $vm_size,
  "bzImageBytes": $bz_size,
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
EOF
echo "$key" > "$out/build.key"
echo "built $release ($kind, $compiled objects compiled, make ${build_s} s, ${total_s} s in all): $out/vmlinux ($vm_size bytes), bzImage $bz_size bytes"
