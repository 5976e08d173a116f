# Mosaic test suite, included by the top-level Makefile.
#
#   make test        build the library (lib, all, tsan), every test
#                    program and the benchmarks (bench-build), then run the whole suite with tests/run.sh
#   make test-build  only build the test programs
#   make stress      the randomized and threaded stress tests,
#                    $(MOSAIC_STRESS_RUNS) times in a row (default 20)
#   make stress20    the same, 20 times
#
# Test programs go to $(BUILD)/tests/<test>_<mode>:
#   _glibc   plain names, not linked to Mosaic (reference run against glibc)
#   _mosaic  mosaic_* names, linked to libmosaic.so
#   _linked  plain names, linked to libmosaic.so (the .so replaces malloc)
#   _static  plain names, linked to libmosaic.a
#   _tsan    mosaic_* names, -fsanitize=thread, build-tsan/libmosaic_prefixed.a
#   _asan    mosaic_* names, -fsanitize=address, $(BUILD)/libmosaic_prefixed.a
# badfree (double and invalid frees must abort naming the pointer) checks
# Mosaic's own messages: no _glibc build, and none under a sanitizer, which
# owns malloc there.

T_DIR       := $(BUILD)/tests
T_TSAN_LIB  := build-tsan/libmosaic_prefixed.a
T_CC        ?= $(CC)
T_WARN      := -Wall -Wextra
T_CFLAGS    := -std=c11 -D_GNU_SOURCE -O2 -g $(T_WARN) -fno-builtin -pthread -Iinclude
T_SAN_FLAGS := -std=c11 -D_GNU_SOURCE -O1 -g $(T_WARN) -fno-builtin -pthread -Iinclude \
               -fno-omit-frame-pointer
T_SO_LINK   := -L$(BUILD) -lmosaic -Wl,-rpath,$(abspath $(BUILD))
T_DEPS      := tests/common.h include/mosaic.h
MOSAIC_STRESS_RUNS ?= 20

T_PROGS  := edge align random threads fork oom init
T_BINS   := $(foreach p,$(T_PROGS),$(T_DIR)/$(p)_glibc $(T_DIR)/$(p)_mosaic $(T_DIR)/$(p)_linked) \
            $(foreach p,edge align random threads,$(T_DIR)/$(p)_asan) \
            $(foreach p,edge align random threads init,$(T_DIR)/$(p)_static) \
            $(foreach p,random threads,$(T_DIR)/$(p)_tsan) \
            $(foreach m,mosaic linked static,$(T_DIR)/badfree_$(m)) \
            $(T_DIR)/libprobe.so $(T_DIR)/sizeclass_unit $(T_DIR)/pagemap_unit $(T_DIR)/fmt_unit

.PHONY: test test-build stress stress20

# The builds go on past a failure (-k) so every test that can run does, but a
# failed build fails the target even when every test passes: a program that
# no longer compiles would otherwise be run from an old binary.
test:
	@st=0; \
	$(MAKE) --no-print-directory -k all tsan || st=1; \
	$(MAKE) --no-print-directory -k test-build bench-build || st=1; \
	BUILD=$(BUILD) sh tests/run.sh || st=1; \
	[ $$st = 0 ] || echo "make test: a build step or a test failed"; \
	exit $$st

test-build: $(T_BINS)

stress:
	@st=0; \
	$(MAKE) --no-print-directory -k all tsan || st=1; \
	$(MAKE) --no-print-directory -k test-build || st=1; \
	BUILD=$(BUILD) sh tests/run.sh --stress --repeat $(MOSAIC_STRESS_RUNS) || st=1; \
	[ $$st = 0 ] || echo "make stress: a build step or a test failed"; \
	exit $$st

stress20:
	@$(MAKE) --no-print-directory stress MOSAIC_STRESS_RUNS=20

$(T_DIR):
	mkdir -p $@

$(T_DIR)/%_glibc: tests/%.c $(T_DEPS) | $(T_DIR)
	$(T_CC) $(T_CFLAGS) -DT_GLIBC $< -o $@ -ldl

$(T_DIR)/%_mosaic: tests/%.c $(T_DEPS) $(BUILD)/libmosaic.so | $(T_DIR)
	$(T_CC) $(T_CFLAGS) -DT_PREFIX $< -o $@ $(T_SO_LINK) -ldl

$(T_DIR)/%_linked: tests/%.c $(T_DEPS) $(BUILD)/libmosaic.so | $(T_DIR)
	$(T_CC) $(T_CFLAGS) -DT_PLAIN $< -o $@ $(T_SO_LINK) -ldl

# -rdynamic: the test looks its malloc up with dlsym to prove it is Mosaic's
$(T_DIR)/%_static: tests/%.c $(T_DEPS) $(BUILD)/libmosaic.a | $(T_DIR)
	$(T_CC) $(T_CFLAGS) -DT_PLAIN -rdynamic $< -o $@ $(BUILD)/libmosaic.a -lpthread -ldl

# The ThreadSanitizer build of the library (also when asked for by a test;
# not inside that build itself, whose own rule makes the file).
ifneq ($(BUILD),build-tsan)
$(T_TSAN_LIB): $(SRC) $(HDR)
	$(MAKE) --no-print-directory tsan
endif

$(T_DIR)/%_tsan: tests/%.c $(T_DEPS) $(T_TSAN_LIB) | $(T_DIR)
	$(T_CC) $(T_SAN_FLAGS) -fsanitize=thread -DT_PREFIX $< -o $@ $(T_TSAN_LIB) -lpthread -ldl

$(T_DIR)/%_asan: tests/%.c $(T_DEPS) $(BUILD)/libmosaic_prefixed.a | $(T_DIR)
	$(T_CC) $(T_SAN_FLAGS) -fsanitize=address -DT_PREFIX $< -o $@ \
	  $(BUILD)/libmosaic_prefixed.a -lpthread -ldl

# Unit test of the allocator's snprintf against the C library's.
$(T_DIR)/fmt_unit: tests/fmt_unit.c src/fmt.c src/fmt.h src/os.c src/os.h | $(T_DIR)
	$(T_CC) $(T_CFLAGS) -Isrc tests/fmt_unit.c src/fmt.c src/os.c -o $@

# Unit test of the size-class arithmetic, built from the module's source.
$(T_DIR)/sizeclass_unit: tests/sizeclass_unit.c src/sizeclass.c src/sizeclass.h src/os.h | $(T_DIR)
	$(T_CC) $(T_CFLAGS) -Isrc tests/sizeclass_unit.c src/sizeclass.c -o $@

# Unit test of the pagemap, built from the module's source.
$(T_DIR)/pagemap_unit: tests/pagemap_unit.c src/pagemap.c src/pagemap.h src/os.c src/os.h | $(T_DIR)
	$(T_CC) $(T_CFLAGS) -Isrc tests/pagemap_unit.c src/pagemap.c src/os.c -o $@

$(T_DIR)/libprobe.so: tests/probe.c | $(T_DIR)
	$(T_CC) -std=c11 -D_GNU_SOURCE -O2 $(T_WARN) -fPIC -shared $< -o $@ -ldl
