# Mosaic build. `make` builds the libraries and tools into build/.
# Sanitizer builds of the library go to build-tsan/ (ThreadSanitizer).
CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -fPIC \
	-fvisibility=hidden -ftls-model=initial-exec -fno-plt \
	-fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc \
	-fno-strict-aliasing -Iinclude -Isrc
CFLAGS += $(CFLAGS_BASE)
LDLIBS_LIB = -lpthread

SRC := $(wildcard src/*.c)
OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRC))
HDR := $(wildcard src/*.h) include/mosaic.h

LIB_SO := $(BUILD)/libmosaic.so
LIB_A  := $(BUILD)/libmosaic.a
# Same allocator with only the mosaic_* names: for sanitizer builds of test
# code, where the sanitizer runtime owns malloc/free.
LIB_P  := $(BUILD)/libmosaic_prefixed.a
OBJ_P  := $(patsubst src/%.c,$(BUILD)/obj-p/%.o,$(SRC))

# The compiler and flags the library's objects were built with, rewritten
# only when they change: a build with another CC (make CC=clang ...) or OPT
# rebuilds the objects instead of linking the old ones.
BUILD_ID := $(CC) $(CFLAGS)
$(shell mkdir -p $(BUILD) && [ "$$(cat $(BUILD)/compiler 2>/dev/null)" = '$(BUILD_ID)' ] || \
	echo '$(BUILD_ID)' > $(BUILD)/compiler)

.PHONY: all lib clean test demo tsan
all: lib $(BUILD)/mosaic-run

lib: $(LIB_SO) $(LIB_A) $(LIB_P)

$(BUILD)/obj-p/%.o: src/%.c $(HDR) $(BUILD)/compiler | $(BUILD)/obj
	@mkdir -p $(BUILD)/obj-p
	$(CC) $(CFLAGS) -DMOSAIC_PREFIX_ONLY -c $< -o $@

$(LIB_P): $(OBJ_P)
	rm -f $@; ar rcs $@ $(OBJ_P)

$(BUILD)/obj/%.o: src/%.c $(HDR) $(BUILD)/compiler | $(BUILD)/obj
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj:
	mkdir -p $@

$(LIB_SO): $(OBJ)
	$(CC) -shared -Wl,-z,now -Wl,-soname,libmosaic.so -o $@ $(OBJ) $(LDLIBS_LIB)

$(LIB_A): $(OBJ)
	rm -f $@; ar rcs $@ $(OBJ)

$(BUILD)/mosaic-run: tools/mosaic-run | $(BUILD)/obj
	sed 's|@LIBDIR@|'"$$(cd $(BUILD) && pwd)"'|' $< > $@ && chmod +x $@

# ThreadSanitizer build of the library itself.
tsan:
	$(MAKE) BUILD=build-tsan OPT="-O1 -fsanitize=thread" lib

clean:
	rm -rf build build-tsan build-asan

-include tests/tests.mk
-include bench/bench.mk
-include tests/ctl/ctl.mk
