# tests/ctl/ctl.mk -- `make test-ctl`: the mallctl namespace, statistics,
# malloc_stats_print (text and JSON) and configuration tests. Included by the
# top Makefile (-include tests/ctl/ctl.mk); uses its CC, BUILD and libraries.
CTL_T := $(BUILD)/tests-ctl
CTL_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Iinclude -Isrc -Itests/ctl \
	-fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc
CTL_LINK := -L$(BUILD) -lmosaic -Wl,-rpath,$(abspath $(BUILD)) -lpthread
CTL_DEPS := tests/ctl/tctl.h $(HDR) $(LIB_SO)
JEMALLOC_H := /usr/include/jemalloc/jemalloc.h

.PHONY: test-ctl
# compat needs Debian's jemalloc header: when it cannot be built the suite
# still runs, and reports compat as one failure (tests/ctl/run.sh).
test-ctl: $(CTL_T)/ctl_test $(CTL_T)/stats_test $(CTL_T)/arena_test $(CTL_T)/allocx_test $(CTL_T)/hooks_test $(CTL_T)/extent_test $(CTL_T)/junk $(CTL_T)/retain $(CTL_T)/thp $(CTL_T)/stats_print $(CTL_T)/conf_probe \
	  $(CTL_T)/conf_probe_str $(CTL_T)/conf_probe_static $(BUILD)/mosaic-run
	-@$(MAKE) --no-print-directory $(CTL_T)/compat
	sh tests/ctl/run.sh $(BUILD)

$(CTL_T):
	mkdir -p $@

$(CTL_T)/ctl_test: tests/ctl/ctl_test.c tests/ctl/tmallctl.h tests/ctl/tnames.h $(CTL_DEPS) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) $< -o $@ $(CTL_LINK)

$(CTL_T)/stats_test: tests/ctl/stats_test.c tests/ctl/tmallctl.h tests/ctl/tnames.h $(CTL_DEPS) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) $< -o $@ $(CTL_LINK)

$(CTL_T)/arena_test: tests/ctl/arena_test.c tests/ctl/tmallctl.h tests/ctl/tclock.h $(CTL_DEPS) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) $< -o $@ $(CTL_LINK)

$(CTL_T)/allocx_test: tests/ctl/allocx_test.c tests/ctl/tmallctl.h $(CTL_DEPS) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) $< -o $@ $(CTL_LINK)

$(CTL_T)/hooks_test: tests/ctl/hooks_test.c tests/ctl/tmallctl.h $(CTL_DEPS) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) $< -o $@ $(CTL_LINK)

$(CTL_T)/extent_test: tests/ctl/extent_test.c tests/ctl/tmallctl.h tests/ctl/tclock.h $(CTL_DEPS) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) $< -o $@ $(CTL_LINK)

$(CTL_T)/junk: tests/ctl/junk.c $(CTL_DEPS) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) $< -o $@ $(CTL_LINK)

$(CTL_T)/retain: tests/ctl/retain.c $(CTL_DEPS) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) $< -o $@ $(CTL_LINK)

$(CTL_T)/thp: tests/ctl/thp.c $(CTL_DEPS) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) $< -o $@ $(CTL_LINK)

$(CTL_T)/stats_print: tests/ctl/stats_print.c $(CTL_DEPS) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) $< -o $@ $(CTL_LINK)

$(CTL_T)/conf_probe: tests/ctl/conf_probe.c $(CTL_DEPS) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) $< -o $@ $(CTL_LINK)

$(CTL_T)/conf_probe_str: tests/ctl/conf_probe.c $(CTL_DEPS) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) '-DPROBE_MOSAIC_CONF="narenas:5,junk:true,tcache_max:1024"' $< -o $@ $(CTL_LINK)

# Linked statically to Mosaic: run set-user-ID without a library search.
$(CTL_T)/conf_probe_static: tests/ctl/conf_probe.c $(CTL_DEPS) $(LIB_A) | $(CTL_T)
	$(CC) $(CTL_CFLAGS) $< -o $@ $(LIB_A) -lpthread

# Compiled against Debian's jemalloc header, linked to Mosaic (not jemalloc).
$(CTL_T)/compat: tests/ctl/compat.c $(CTL_DEPS) $(JEMALLOC_H) | $(CTL_T)
	$(CC) $(filter-out -Iinclude -Isrc,$(CTL_CFLAGS)) $< -o $@ $(CTL_LINK)

$(JEMALLOC_H):
	@echo "jemalloc.h missing: installing libjemalloc-dev (Debian) for the compatibility test"
	if [ "$$(id -u)" = 0 ]; then apt-get install -y libjemalloc-dev >/dev/null 2>&1 || \
	  { apt-get update >/dev/null 2>&1 && apt-get install -y libjemalloc-dev >/dev/null; }; \
	else echo "not root: install libjemalloc-dev (Debian) to build tests/ctl/compat.c"; exit 1; fi
