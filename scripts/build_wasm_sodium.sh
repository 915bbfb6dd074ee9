#!/usr/bin/env bash
# Builds libsodium for WebAssembly from Debian's own source package, into OUTDIR
# (OUTDIR/lib/libsodium.a, OUTDIR/include/sodium.h). Idempotent: does nothing when OUTDIR
# has the library already.
#
#   scripts/build_wasm_sodium.sh OUTDIR [CACHEDIR]
#
# The source comes from `apt-get source libsodium` (into CACHEDIR, default OUTDIR/../src):
# source packages are enabled by adding the deb-src type to this machine's existing apt
# entries (deb822 files and sources.list alike), never by naming a mirror; apt-get update
# runs only when that changed something. The flags follow libsodium's own
# dist-build/emscripten.sh, for the standard (not the sumo) build: portable C only (no asm,
# no SSP, no threads), static, -Os. randombytes then reads crypto.getRandomValues in a
# browser and node's crypto module under Node.js (randombytes_sysrandom's __EMSCRIPTEN__ path).
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [CACHEDIR]" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
cache=${2:-$out/../src}
if [ -f "$out/lib/libsodium.a" ] && [ -f "$out/include/sodium.h" ]; then
  exit 0
fi
command -v emconfigure >/dev/null || { echo "$0: emconfigure not found: apt-get install emscripten (scripts/setup.sh)" >&2; exit 1; }

# emcc runs tools/acorn-optimizer.js with node, which needs Debian's node-acorn; a node not
# from Debian (nodesource's) does not look in /usr/share/nodejs by itself.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
# configure runs its test programs under node; emscripten 3.1.6's loader takes node 18+'s
# global fetch for a browser's and fails to fetch the .wasm from a file path.
export NODE_OPTIONS="--no-experimental-fetch${NODE_OPTIONS:+ $NODE_OPTIONS}"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_get() { $sudo apt-get -o DPkg::Lock::Timeout=600 "$@"; }

# deb -> deb deb-src in the machine's own entries; true when something changed.
enable_deb_src() {
  local changed=1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    if grep -qE '^Types:[[:space:]]*deb[[:space:]]*$' "$f"; then
      $sudo sed -i -E 's/^Types:[[:space:]]*deb[[:space:]]*$/Types: deb deb-src/' "$f"
      changed=0
    fi
  done
  f=/etc/apt/sources.list
  if [ -f "$f" ] && grep -qE '^deb[[:space:]]' "$f"; then
    # each "deb ..." line without its "deb-src ..." twin gets one
    local line src
    while IFS= read -r line; do
      src="deb-src${line#deb}"
      grep -qxF "$src" "$f" || { echo "$src" | $sudo tee -a "$f" >/dev/null; changed=0; }
    done < <(grep -E '^deb[[:space:]]' "$f")
  fi
  return $changed
}

mkdir -p "$cache"
srcdir=$(find "$cache" -maxdepth 1 -type d -name 'libsodium-*' | sort | tail -n 1)
if [ -z "$srcdir" ]; then
  command -v dpkg-source >/dev/null || apt_get install -y --no-install-recommends dpkg-dev
  if enable_deb_src; then
    echo "build_wasm_sodium: enabled deb-src in the apt sources; updating"
    apt_get update
  fi
  (cd "$cache" && apt-get source libsodium)
  srcdir=$(find "$cache" -maxdepth 1 -type d -name 'libsodium-*' | sort | tail -n 1)
  [ -n "$srcdir" ] || { echo "$0: apt-get source libsodium left no libsodium-* directory in $cache" >&2; exit 1; }
fi

echo "build_wasm_sodium: building $(basename "$srcdir") for wasm into $out"
build="$cache/build"
rm -rf "$build"
cp -a "$srcdir" "$build"
cd "$build"
# Debian's source is the upstream tree without a generated configure script (its
# autogen.sh would fetch config.sub from the internet: autoreconf is what Debian runs).
if [ ! -x configure ]; then
  command -v autoreconf >/dev/null && command -v libtoolize >/dev/null ||
    apt_get install -y --no-install-recommends autoconf automake libtool
  autoreconf -fi >autoreconf.log 2>&1 || { tail -n 30 autoreconf.log >&2; exit 1; }
fi
emconfigure ./configure --prefix="$out" CFLAGS="-Os" \
  --disable-asm --disable-ssp --disable-pie --without-pthreads --disable-shared --enable-static \
  --disable-dependency-tracking >configure.log 2>&1 ||
  { tail -n 30 configure.log >&2; exit 1; }
emmake make -j2 install >make.log 2>&1 || { tail -n 30 make.log >&2; exit 1; }
echo "build_wasm_sodium: $out/lib/libsodium.a"
