#!/bin/sh
# conf.sh BUILD -- configuration tests: MOSAIC_CONF strings (good and
# malformed), abort_conf, the program's mosaic_conf string and precedence,
# secure_getenv for set-user-ID programs, opt.stats_print and
# mosaic-run --stats. One PASS/FAIL line per test (SKIP when the machine
# cannot run one: not counted).
B=${1:-build}
T=$B/tests-ctl
probe=$T/conf_probe
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

# run CONF [PROGRAM]: output in $tmp/out, standard error in $tmp/err, status in $rc
run() {
    MOSAIC_CONF="$1" "${2:-$probe}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
# has KEY=VALUE: the probe printed it
has() { grep -qx "$1" "$tmp/out"; }
nerr() { wc -l <"$tmp/err" | tr -d ' '; }
errtext() { tr '\n' '|' <"$tmp/err"; }

# -- defaults, no configuration
unset MOSAIC_CONF
"$probe" >"$tmp/default" 2>"$tmp/err"
if [ $? -eq 0 ] && [ ! -s "$tmp/err" ] && grep -qx "opt.narenas=0" "$tmp/default" &&
   grep -qx "opt.thp=default" "$tmp/default"; then pass conf_defaults
else fail conf_defaults "$(errtext)"; fi

# -- every option set, all valid: applied, nothing printed
run "abort_conf:true,narenas:3,tcache:false,tcache_max:4096,dirty_decay_ms:-1,muzzy_decay_ms:500,retain:false,thp:never,stats_print:false,junk:true"
if [ $rc -eq 0 ] && [ "$(nerr)" = 0 ] && has opt.narenas=3 && has opt.tcache=false &&
   has opt.tcache_max=4096 && has opt.dirty_decay_ms=-1 && has opt.muzzy_decay_ms=500 &&
   has opt.retain=false && has opt.thp=never && has opt.junk=true && has opt.abort_conf=true &&
   has arenas.narenas=3 && has thread.tcache.enabled=false && has arenas.tcache_max=4096; then
    pass conf_all_options_applied
else fail conf_all_options_applied "rc=$rc err=$(errtext)"; fi

# -- every range's maximum is accepted (the bounds are inclusive) and read back
run "narenas:2048,tcache_max:65536,dirty_decay_ms:86400000,muzzy_decay_ms:86400000"
if [ $rc -eq 0 ] && [ "$(nerr)" = 0 ] && has opt.narenas=2048 && has opt.tcache_max=65536 &&
   has opt.dirty_decay_ms=86400000 && has opt.muzzy_decay_ms=86400000 &&
   has arenas.tcache_max=65536; then
    pass conf_range_maxima_accepted
else fail conf_range_maxima_accepted "rc=$rc err=$(errtext) $(tr '\n' ' ' <"$tmp/out")"; fi
# -- ... and every minimum (narenas 0, tcache_max 0, decay -1)
run "narenas:0,tcache_max:0,dirty_decay_ms:-1,muzzy_decay_ms:-1"
if [ $rc -eq 0 ] && [ "$(nerr)" = 0 ] && has opt.narenas=0 && has opt.tcache_max=0 &&
   has opt.dirty_decay_ms=-1 && has opt.muzzy_decay_ms=-1; then
    pass conf_range_minima_accepted
else fail conf_range_minima_accepted "rc=$rc err=$(errtext) $(tr '\n' ' ' <"$tmp/out")"; fi

# -- booleans: the documented spellings true/false and 1/0, each way round
#    (tcache and retain default to true, junk and stats_print to false)
run "tcache:0,retain:false,junk:1,abort_conf:true"
if [ $rc -eq 0 ] && [ "$(nerr)" = 0 ] && has opt.tcache=false && has opt.retain=false &&
   has opt.junk=true && has opt.abort_conf=true; then
    pass conf_bool_spellings_set
else fail conf_bool_spellings_set "rc=$rc err=$(errtext) $(tr '\n' ' ' <"$tmp/out")"; fi
run "tcache:false,tcache:1,junk:true,junk:0,retain:0,retain:true"
if [ $rc -eq 0 ] && [ "$(nerr)" = 0 ] && has opt.tcache=true && has opt.junk=false &&
   has opt.retain=true; then
    pass conf_bool_spellings_reset
else fail conf_bool_spellings_reset "rc=$rc err=$(errtext) $(tr '\n' ' ' <"$tmp/out")"; fi

# -- numbers in other bases, a later key wins over an earlier one
run "narenas:0x10,tcache_max:010,narenas:9"
if [ $rc -eq 0 ] && [ "$(nerr)" = 0 ] && has opt.narenas=9 && has opt.tcache_max=8; then
    pass conf_bases_and_repeats
else fail conf_bases_and_repeats "err=$(errtext) $(tr '\n' ' ' <"$tmp/out")"; fi

# -- one bad item: exactly one line on standard error naming it; default kept,
#    the other items applied; the program runs on
bad_case() { # NAME CONF KEYWORD EXPECT...
    name=$1 conf=$2 word=$3
    shift 3
    run "$conf"
    ok=1
    [ $rc -eq 0 ] || ok=0
    [ "$(nerr)" = 1 ] || ok=0
    grep -q -- "$word" "$tmp/err" || ok=0
    grep -q "MOSAIC_CONF" "$tmp/err" || ok=0
    for e in "$@"; do has "$e" || ok=0; done
    if [ $ok = 1 ]; then pass "$name"; else fail "$name" "rc=$rc err=$(errtext)"; fi
}
bad_case conf_unknown_key "bogus:1,narenas:2" "'bogus'" opt.narenas=2
bad_case conf_bad_number "narenas:abc,tcache:false" "'narenas'" opt.narenas=0 opt.tcache=false
bad_case conf_number_out_of_range "narenas:99999" "'narenas'" opt.narenas=0
bad_case conf_narenas_above_2048 "narenas:2049" "'narenas'" opt.narenas=0
# -- a bad value after a good one keeps the good one, and says so
bad_case conf_previous_value_kept "thp:always,thp:bogus" "previous value kept" opt.thp=always
bad_case conf_size_out_of_range "tcache_max:70000" "'tcache_max'" opt.tcache_max=32768
bad_case conf_negative_out_of_range "dirty_decay_ms:-2" "'dirty_decay_ms'" opt.dirty_decay_ms=10000
bad_case conf_trailing_garbage "muzzy_decay_ms:5ms" "'muzzy_decay_ms'" opt.muzzy_decay_ms=0
bad_case conf_bad_bool "tcache:yes" "'tcache'" opt.tcache=true
bad_case conf_bad_choice "thp:sometimes" "'thp'" opt.thp=default
bad_case conf_empty_value "junk:" "'junk'" opt.junk=false
bad_case conf_missing_colon "narenas,junk:true" "'narenas'" opt.narenas=0 opt.junk=true
bad_case conf_empty_key ":5,narenas:4" "''" opt.narenas=4
bad_case conf_key_case "NARENAS:4" "'NARENAS'" opt.narenas=0
# -- a choice is matched as a whole word: a prefix of one is no choice
bad_case conf_choice_prefix "thp:alw" "'thp'" opt.thp=default
bad_case conf_choice_empty_prefix "thp:nev,narenas:3" "'thp'" opt.thp=default opt.narenas=3

# -- an item far longer than the error line's buffer (2000 characters, no
#    ':'): still exactly one line (cut short, but ending in a newline), the
#    items after it applied, the program runs on
long=$(head -c 2000 /dev/zero | tr '\0' x)
run "$long,narenas:6"
if [ $rc -eq 0 ] && [ "$(nerr)" = 1 ] && grep -q "^<mosaic>: MOSAIC_CONF: malformed item 'xxxx" "$tmp/err" &&
   [ "$(wc -c <"$tmp/err")" -le 512 ] && [ "$(tail -c 1 "$tmp/err" | od -An -c | tr -d ' ')" = '\n' ] &&
   has opt.narenas=6; then
    pass conf_long_item_one_line
else fail conf_long_item_one_line "rc=$rc lines=$(nerr) bytes=$(wc -c <"$tmp/err")"; fi
# -- the same for an unknown key and a bad value that long
run "${long}:1,narenas:$long,tcache:false"
if [ $rc -eq 0 ] && [ "$(nerr)" = 2 ] && grep -q "unknown option 'xxxx" "$tmp/err" &&
   grep -q "for option 'narenas'" "$tmp/err" && has opt.narenas=0 && has opt.tcache=false &&
   [ "$(awk 'length > 511' "$tmp/err" | wc -l)" = 0 ]; then
    pass conf_long_key_and_value
else fail conf_long_key_and_value "rc=$rc lines=$(nerr) $(head -c 300 "$tmp/err")"; fi

# -- empty items are ignored silently
run ",,narenas:4,,"
if [ $rc -eq 0 ] && [ "$(nerr)" = 0 ] && has opt.narenas=4; then pass conf_empty_items_ignored
else fail conf_empty_items_ignored "err=$(errtext)"; fi

# -- two errors: two lines
run "bogus:1,narenas:x,tcache:false"
if [ $rc -eq 0 ] && [ "$(nerr)" = 2 ] && has opt.tcache=false; then pass conf_two_errors_two_lines
else fail conf_two_errors_two_lines "err=$(errtext)"; fi

# -- abort_conf: errors abort the program (wherever abort_conf appears)
for c in "abort_conf:true,bogus:1" "bogus:1,abort_conf:true" "abort_conf:true,narenas:-1"; do
    run "$c"
    if [ $rc -eq 134 ] && grep -q "abort_conf" "$tmp/err" && ! [ -s "$tmp/out" ]; then
        pass "conf_abort_conf($c)"
    else fail "conf_abort_conf($c)" "rc=$rc err=$(errtext)"; fi
done
run "abort_conf:false,bogus:1"
if [ $rc -eq 0 ] && [ "$(nerr)" = 1 ]; then pass conf_abort_conf_false
else fail conf_abort_conf_false "rc=$rc"; fi

# -- the program's mosaic_conf string, and MOSAIC_CONF over it, key by key
unset MOSAIC_CONF
"$T/conf_probe_str" >"$tmp/out" 2>"$tmp/err"
if [ $? -eq 0 ] && [ ! -s "$tmp/err" ] && has opt.narenas=5 && has opt.junk=true &&
   has opt.tcache_max=1024; then pass conf_mosaic_conf_string
else fail conf_mosaic_conf_string "$(errtext)"; fi
run "narenas:7" "$T/conf_probe_str"
if [ $rc -eq 0 ] && has opt.narenas=7 && has opt.junk=true && has opt.tcache_max=1024; then
    pass conf_env_overrides_mosaic_conf
else fail conf_env_overrides_mosaic_conf "$(tr '\n' ' ' <"$tmp/out")"; fi
run "abort_conf:true" "$T/conf_probe_str"
if [ $rc -eq 0 ]; then pass conf_mosaic_conf_valid_with_abort_conf
else fail conf_mosaic_conf_valid_with_abort_conf "rc=$rc"; fi

# -- set-user-ID programs ignore MOSAIC_CONF (secure_getenv)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 && [ -x "$T/conf_probe_static" ]; then
    d=$(mktemp -d /tmp/mosaic-suid.XXXXXX)
    chmod 755 "$d"
    cp "$T/conf_probe_static" "$d/probe"
    chown 0:0 "$d/probe"
    chmod 4755 "$d/probe"
    MOSAIC_CONF=narenas:3 setpriv --reuid=65534 --regid=65534 --clear-groups "$d/probe" >"$tmp/suid" 2>&1
    chmod 755 "$d/probe"
    MOSAIC_CONF=narenas:3 setpriv --reuid=65534 --regid=65534 --clear-groups "$d/probe" >"$tmp/plain" 2>&1
    rm -rf "$d"
    if grep -qx "opt.narenas=0" "$tmp/suid" && grep -qx "opt.narenas=3" "$tmp/plain"; then
        pass conf_setuid_ignores_MOSAIC_CONF
    else
        fail conf_setuid_ignores_MOSAIC_CONF "setuid: $(tr '\n' ' ' <"$tmp/suid") plain: $(tr '\n' ' ' <"$tmp/plain")"
    fi
else
    echo "SKIP conf_setuid_ignores_MOSAIC_CONF: needs root and setpriv"
fi

# -- opt.stats_print: statistics on standard error at exit
run "stats_print:true"
if [ $rc -eq 0 ] && grep -q "^___ Begin Mosaic statistics ___" "$tmp/err" &&
   grep -q "^--- End Mosaic statistics ---" "$tmp/err" && grep -q "opt.stats_print: true" "$tmp/err" &&
   has opt.stats_print=true; then pass conf_stats_print_at_exit
else fail conf_stats_print_at_exit "rc=$rc"; fi
# -- ... whose option lines show the values in force (the text of a choice
#    is its own word, whatever its index; numbers signed; booleans spelled)
for thp in always never; do
    run "stats_print:true,thp:$thp,narenas:3,tcache:false,dirty_decay_ms:-1"
    if [ $rc -eq 0 ] && grep -qx "  opt.thp: \"$thp\"" "$tmp/err" && grep -qx "  opt.narenas: 3" "$tmp/err" &&
       grep -qx "  opt.tcache: false" "$tmp/err" && grep -qx "  opt.dirty_decay_ms: -1" "$tmp/err"; then
        pass "conf_stats_print_values($thp)"
    else fail "conf_stats_print_values($thp)" "rc=$rc $(grep '^  opt\.' "$tmp/err" | tr '\n' '|')"; fi
done

# -- mosaic-run --stats on a program not linked to Mosaic
if [ -x "$B/mosaic-run" ]; then
    MOSAIC_CONF= "$B/mosaic-run" --stats /bin/echo hello >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 0 ] && grep -qx hello "$tmp/out" && grep -q "^___ Begin Mosaic statistics ___" "$tmp/err" &&
       grep -q "opt.stats_print: true" "$tmp/err"; then pass mosaic_run_stats
    else fail mosaic_run_stats "rc=$rc $(head -c 300 "$tmp/err")"; fi
    "$B/mosaic-run" --conf narenas:bad sh -c 'exit 0' >"$tmp/out" 2>"$tmp/err"
    if grep -q "'narenas'" "$tmp/err"; then pass mosaic_run_conf_error_reported
    else fail mosaic_run_conf_error_reported "$(errtext)"; fi
else
    fail mosaic_run_stats "$B/mosaic-run missing"
fi
