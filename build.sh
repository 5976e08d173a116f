#!/bin/sh
# Mosaic quick start: ./build.sh demo | ./build.sh test
# Installs what is missing from Debian's packages (when run as root), builds,
# then runs the demo benchmark or the whole test suite.
set -e
cd "$(dirname "$0")"
what=${1:-demo}
case "$what" in
  demo) sh scripts/deps.sh build bench; make -j2 all; exec make demo ;;
  test) sh scripts/deps.sh build test; make -j2 all; exec make test ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
