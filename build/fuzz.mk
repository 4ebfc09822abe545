# libFuzzer targets (tests/fuzz/fuzz_*.c), included by the Makefile. Debian's clang with
# libfuzzer-14-dev; the core library is rebuilt with coverage instrumentation and
# ASan/UBSan into $(O)/fuzz/.
#   make fuzz-build   the targets ($(O)/fuzz/fuzz_*)
#   make fuzz         each target for FUZZ_RUNS (10^6) executions from its corpus
#   make fuzz-seeds   regenerate tests/fuzz/corpus/*/seed-* (the seeds the tests use)
# `make test` (tests/run.sh) replays every corpus once: sh tests/fuzz/run.sh replay NAME.
FUZZ_CC     ?= clang
FUZZ_RUNS   ?= 1000000
FUZZ_O      := $(O)/fuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer
FUZZ_CFLAGS  = -O1 -g $(FUZZ_SAN) -Wall -Wextra -Werror -Wno-unused-parameter \
               -Wno-unused-function -std=gnu11 -pthread $(APR_INC) $(PKG_INC) \
               -Imodules/core -I$(O)/gen -Itests/fuzz
FUZZ_SRC    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN    := $(patsubst tests/fuzz/%.c,$(FUZZ_O)/%,$(FUZZ_SRC))
FUZZ_CORE   := $(patsubst modules/core/%.c,$(FUZZ_O)/core/%.o,$(CORE_SRC)) \
               $(FUZZ_O)/core/acp_schema_gen.o

.PHONY: fuzz fuzz-build fuzz-seeds
fuzz-build: $(FUZZ_BIN)

$(FUZZ_O)/core/%.o: modules/core/%.c $(wildcard modules/core/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_O)/core/acp_schema_gen.o: $(O)/gen/acp_schema_gen.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_O)/libacp.a: $(FUZZ_CORE)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_O)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_O)/libacp.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_O)/libacp.a $(LDLIBS)

# the seed generator is an ordinary program over the ordinary core library
$(O)/fuzz-seeds: tests/fuzz/seeds.c $(wildcard tests/fuzz/*.h) $(O)/libacp.a
	$(CC) $(ALL_CFLAGS) -Itests/fuzz -o $@ $< $(O)/libacp.a $(LDLIBS)

fuzz-seeds: $(O)/fuzz-seeds
	$(O)/fuzz-seeds tests/fuzz/corpus

fuzz: deps fuzz-build
	FUZZ_RUNS=$(FUZZ_RUNS) sh tests/fuzz/run.sh fuzz
