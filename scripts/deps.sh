#!/bin/sh
# Installs the Debian packages a Mosaic task needs, if any are missing.
# Usage: scripts/deps.sh [build] [test] [bench]
# As root it runs apt-get; otherwise it names what is missing and goes on.
pkgs=""
for group in "$@"; do
  case "$group" in
    build) pkgs="$pkgs gcc make libc6-dev" ;;
    test)  pkgs="$pkgs python3 git sqlite3 coreutils procps libjemalloc-dev" ;;
    bench) pkgs="$pkgs python3 valgrind gnuplot-nox libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4" ;;
  esac
done
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 || \
    echo "deps: could not install some of:$missing (continuing with what is there)" >&2
else
  echo "deps: missing Debian packages:$missing (run as root to install; continuing)" >&2
fi
exit 0
