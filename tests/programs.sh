#!/bin/sh
# tests/programs.sh NAME -- a real program on Mosaic (build/mosaic-run) must
# give byte-identical stdout, and the same exit status, as on the system
# allocator. NAME: python git gcc sort sqlite3 preload.
#
# Each workload runs twice, in fresh directories: once plainly, once under
# mosaic-run with tests' libprobe.so preloaded as well, which records, for
# every process started, the module that provides malloc: all of them must be
# libmosaic.so, and the expected programs must be among them.
# Missing programs are installed from Debian's packages when run as root;
# if that fails the test FAILS.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac
RUN=$BUILD/mosaic-run
PROBE=$BUILD/tests/libprobe.so
name=${1:-}

fail() { echo "FAIL: programs[$name]: $*" >&2; exit 1; }

apt_updated=0
need() { # need COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "programs: installing $2 for $1"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1; then
      [ $apt_updated = 1 ] || { apt-get update -qq >/dev/null 2>&1; apt_updated=1; }
      apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1
    fi
  fi
  command -v "$1" >/dev/null 2>&1 || fail "'$1' is missing and could not be installed (Debian package $2)"
}

[ -x "$RUN" ] || fail "$RUN is missing (make all)"
[ -f "$BUILD/libmosaic.so" ] || fail "$BUILD/libmosaic.so is missing (make lib)"
[ -f "$PROBE" ] || fail "$PROBE is missing (make test builds it)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mosaic-programs.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT INT TERM
unset MOSAIC_CONF LD_PRELOAD

# compare BODY-FILE EXPECTED-COMM...: runs the shell script in both ways.
compare() {
  body=$1; shift
  mkdir -p "$tmp/sys" "$tmp/mos"
  t0=$(date +%s.%N)
  (cd "$tmp/sys" && env -u LD_PRELOAD sh "$body") >"$tmp/sys.out" 2>"$tmp/sys.err"
  rs=$?
  t1=$(date +%s.%N)
  (cd "$tmp/mos" && LD_PRELOAD="$PROBE" MOSAIC_PROBE_FILE="$tmp/probe" "$RUN" sh "$body") \
    >"$tmp/mos.out" 2>"$tmp/mos.err"
  rm_=$?
  t2=$(date +%s.%N)
  echo "programs[$name]: system allocator $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }")s, Mosaic $(awk "BEGIN { printf \"%.2f\", $t2 - $t1 }")s"
  if [ $rs != 0 ]; then
    tail -20 "$tmp/sys.err" >&2
    fail "the workload fails on the system allocator too (exit $rs): test or environment problem"
  fi
  if [ $rm_ != 0 ]; then
    echo "--- stderr under Mosaic (last 30 lines):" >&2
    tail -30 "$tmp/mos.err" >&2
    fail "exit status $rm_ under mosaic-run (0 on the system allocator)"
  fi
  [ -s "$tmp/sys.out" ] || fail "the workload printed nothing (test problem)"
  if ! cmp -s "$tmp/sys.out" "$tmp/mos.out"; then
    echo "--- diff system vs Mosaic (first 40 lines):" >&2
    diff "$tmp/sys.out" "$tmp/mos.out" | head -40 >&2
    fail "stdout differs under mosaic-run"
  fi
  # every process ran on Mosaic (but the mosaic-run script itself, which
  # starts before it sets LD_PRELOAD)
  grep -v '^[0-9]* mosaic-run ' "$tmp/probe" >"$tmp/probe.all"
  mv "$tmp/probe.all" "$tmp/probe"
  [ -s "$tmp/probe" ] || fail "the probe recorded no process: did mosaic-run preload anything?"
  if grep -v 'libmosaic\.so' "$tmp/probe" >"$tmp/probe.bad"; then
    head -5 "$tmp/probe.bad" >&2
    fail "$(wc -l <"$tmp/probe.bad") process(es) did not get malloc from libmosaic.so"
  fi
  for c in "$@"; do
    awk '{print $2}' "$tmp/probe" | grep -q "$c" ||
      fail "no process named like '$c' ran (processes: $(awk '{print $2}' "$tmp/probe" | sort -u | tr '\n' ' '))"
  done
  echo "programs[$name]: $(wc -c <"$tmp/sys.out") bytes of identical output; $(wc -l <"$tmp/probe") processes on Mosaic: $(awk '{print $2}' "$tmp/probe" | sort | uniq -c | awk '{printf "%s%s(%s)", s, $2, $1; s=" "}')"
}

case "$name" in
python)
  need python3 python3
  # Debian's own interpreter when there is one (what a user of the quick
  # start has; a position-dependent executable, which the probe must see
  # through), else the first python3 on PATH
  py=python3
  [ -x /usr/bin/python3 ] && py=/usr/bin/python3
  cat >"$tmp/body.sh" <<EOF
set -e
PYTHONHASHSEED=0 $py "$here/programs/workload.py"
# every object through malloc, not only Python's own arenas
PYTHONMALLOC=malloc PYTHONHASHSEED=0 $py "$here/programs/workload.py"
EOF
  compare "$tmp/body.sh" python
  ;;
git)
  need git git
  cat >"$tmp/body.sh" <<'EOF'
set -e
export HOME="$PWD/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Mosaic Test" GIT_AUTHOR_EMAIL=mosaic@example.com
export GIT_COMMITTER_NAME="Mosaic Test" GIT_COMMITTER_EMAIL=mosaic@example.com
export GIT_AUTHOR_DATE="2024-01-02T03:04:05+0000" GIT_COMMITTER_DATE="2024-01-02T03:04:05+0000"
export LC_ALL=C TZ=UTC
mkdir -p home repo
cd repo
git init -q .
git config pack.threads 1
git checkout -q -b main
awk 'BEGIN { for (f = 0; f < 300; f++) { fn = sprintf("f%03d.txt", f);
  for (i = 0; i < f * 7 + 3; i++) printf "line %d of file %d: %s\n", i, f, substr("the quick brown fox jumps over the lazy dog", 1 + (i * f) % 30) > fn;
  close(fn) } }'
mkdir -p sub/dir
seq 1 20000 > sub/dir/numbers.txt
git add .
git commit -q -m "first commit"
awk 'BEGIN { for (f = 0; f < 300; f += 3) { fn = sprintf("f%03d.txt", f); printf "appended to %d\n", f >> fn; close(fn) } }'
git rm -q f001.txt f002.txt
seq 5 3 30000 > sub/dir/numbers.txt
git add -A
git commit -q -m "second commit: edits, removals"
git checkout -q -b topic
echo "topic work" > topic.txt
git add topic.txt
git commit -q -m "topic"
git checkout -q main
git merge -q --no-ff -m "merge topic" topic
git tag -a v1 -m "tag v1"
git log --stat --format='%H %an <%ae> %ad %s' --date=iso
git log -p -2 --format='%H %s' | head -3000
git show --stat v1
git diff --stat HEAD~2 HEAD
git ls-files -s | head -50
git gc -q
git fsck --full --no-progress 2>&1
git rev-list --all --objects | sort | cksum
git cat-file -p HEAD
git blame -s sub/dir/numbers.txt | head -100
EOF
  compare "$tmp/body.sh" git
  ;;
gcc)
  need gcc gcc
  cat >"$tmp/body.sh" <<EOF
set -e
gcc -O2 -Wall -o prog "$here/programs/prog.c"
./prog
gcc -O0 -Wall -o prog0 "$here/programs/prog.c"
./prog0
# the compiler's output itself must not depend on the allocator
cksum <prog
cksum <prog0
gcc -O2 -S -o - "$here/programs/prog.c" | cksum
EOF
  compare "$tmp/body.sh" cc1 prog
  ;;
sort)
  need sort coreutils
  cat >"$tmp/body.sh" <<'EOF'
set -e
export LC_ALL=C
awk 'BEGIN { x = 12345; for (i = 0; i < 300000; i++) { x = (x * 69069 + 1) % 4294967296;
  printf "%d %s%s line%d\n", x % 100000, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, 1 + x % 17),
  substr("ZYXWVUTSRQPONMLKJIHGFEDCBA", (x / 7) % 26 + 1), i } }' > in.txt
wc -c < in.txt
sort in.txt | cksum
sort -n -k1,1 -s in.txt | cksum
sort -u -k2,2 in.txt | cksum
sort -r -k3 in.txt | cksum
sort --parallel=2 -S 1M -T . in.txt | cksum
sort -R --random-source=in.txt in.txt | cksum
sort -t' ' -k2,2 -k1,1n in.txt | head -20
EOF
  compare "$tmp/body.sh" sort
  ;;
sqlite3)
  need sqlite3 sqlite3
  cat >"$tmp/body.sh" <<'EOF'
set -e
sqlite3 db.sqlite <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL, b BLOB);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000)
INSERT INTO t SELECT i, 'name' || (i * 7919 % 100003), i % 97, (i * 31 % 1000) / 7.0,
                     zeroblob(i % 300) FROM c;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, val);
SELECT grp, count(*), round(sum(val), 3), min(name), max(name) FROM t GROUP BY grp ORDER BY grp LIMIT 20;
SELECT count(DISTINCT name) FROM t;
SELECT name, count(*) AS c FROM t GROUP BY name ORDER BY c DESC, name LIMIT 10;
SELECT a.grp, count(*) FROM t a JOIN t b ON a.id = b.id + 1 WHERE a.grp = b.grp + 1
  GROUP BY a.grp ORDER BY 1 LIMIT 10;
UPDATE t SET name = upper(name) || '-' || grp WHERE grp < 10;
DELETE FROM t WHERE id % 3 = 0;
VACUUM;
SELECT count(*), sum(length(b)), round(total(val), 3) FROM t;
SELECT group_concat(name, ',') FROM (SELECT name FROM t ORDER BY name DESC LIMIT 50);
SELECT grp, group_concat(id) FROM (SELECT grp, id FROM t WHERE id < 2000 ORDER BY id) GROUP BY grp ORDER BY grp LIMIT 5;
PRAGMA integrity_check;
SQL
EOF
  compare "$tmp/body.sh" sqlite3
  ;;
preload)
  # mosaic-run really preloads Mosaic: the process maps libmosaic.so
  n=$(env -u LD_PRELOAD sh -c 'grep -c libmosaic /proc/self/maps')
  [ "$n" = 0 ] || fail "libmosaic is mapped without mosaic-run ($n): test problem"
  n=$("$RUN" sh -c 'grep -c libmosaic /proc/self/maps') || fail "mosaic-run sh -c grep failed"
  [ "$n" -ge 1 ] 2>/dev/null || fail "under mosaic-run, /proc/self/maps shows no libmosaic ($n)"
  pre=$("$RUN" sh -c 'echo "$LD_PRELOAD"')
  case "$pre" in *libmosaic.so*) ;; *) fail "mosaic-run does not set LD_PRELOAD ($pre)" ;; esac
  echo "programs[preload]: mosaic-run maps libmosaic.so ($n mappings), LD_PRELOAD=$pre"
  ;;
*)
  echo "usage: $0 python|git|gcc|sort|sqlite3|preload" >&2
  exit 2
  ;;
esac
exit 0
