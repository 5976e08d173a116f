# Mosaic benchmark suite (issue 3).  Included by the top-level Makefile.
#
#   make bench-build   build the benchmark programs into $(BUILD)/bench/
#   make demo          short run: Mosaic vs the system allocator and the
#                      installed peers, printed as a table (a minute or two)
#   make bench         full run: 5 repetitions, instruction counts, thread
#                      scaling; writes bench/out/ and bench/RESULTS.md
#
# Runner options can be passed with BENCH_ARGS, e.g.
#   make bench BENCH_ARGS="--reps 3 --alloc mosaic,mimalloc"

BUILD ?= build
BENCH_DIR := $(BUILD)/bench
BENCH_CC ?= $(CC)
BENCH_CFLAGS ?= -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -pthread \
	-fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc \
	-fno-builtin-realloc
BENCH_LDLIBS ?= -pthread -ldl -lm
PYTHON ?= python3

BENCH_PROGS := collatz linkedlist vector larson prodcons churn large \
	falseshare frag pairs spawn
BENCH_BINS := $(addprefix $(BENCH_DIR)/,$(BENCH_PROGS))

BENCH_RUN = $(PYTHON) bench/run.py --build $(BUILD) --no-build

.PHONY: bench bench-build demo bench-clean

bench-build: $(BENCH_BINS) $(BENCH_DIR)/peak.so

# peak.so: preloaded after the allocator, reports the heap at the peak RSS
$(BENCH_DIR)/peak.so: bench/peak.c | $(BENCH_DIR)
	$(BENCH_CC) $(BENCH_CFLAGS) -fPIC -shared -o $@ $< $(BENCH_LDLIBS)

$(BENCH_DIR)/%: bench/%.c bench/common.h | $(BENCH_DIR)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_LDLIBS)

$(BENCH_DIR):
	mkdir -p $@

demo: lib bench-build
	$(BENCH_RUN) demo $(BENCH_ARGS)

bench: lib bench-build
	$(BENCH_RUN) all --invoked-as "make bench" $(BENCH_ARGS)

bench-clean:
	rm -rf $(BENCH_DIR) bench/out
