# linli: one plain GNU Makefile for linlid, linlictl, the modem emulator, tests and benchmarks.
#
#   make          build everything into build/
#   make run      install what is missing, build, and start the demo gateway (SQLite + emulated modem)
#   make test     install what is missing, build with ASan/UBSan into build/test, run every test
#   make bench    build optimised and run the benchmarks (bench/RESULTS.md)
#   make fuzz     build the libFuzzer targets with clang into build/fuzz, run each FUZZ_S seconds
#   make deps     install the Debian packages listed in deps.txt that are missing

BUILD ?= build
.DEFAULT_GOAL := all
PKGS := libosmocore libosmovty libosmoctrl gammu sqlite3 libpq talloc spandsp sofia-sip-ua-glib glib-2.0 jansson libmicrohttpd gnutls

# Warnings in their own variable so `make CFLAGS=...` cannot drop them.
WARN := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
SAN ?=
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = $(WARN) $(CFLAGS) $(SAN) -I. -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN)
LIBS := $(PKG_LIBS) -lpthread -lm

# ---- db: SQL embedded into the binary (schema.sql + numbered upgrade steps) ----
SQL_FILES := db/schema.sql $(sort $(wildcard db/upgrade/*.sql))
PG_SQL_FILES := $(sort $(wildcard db/pg/*.sql))
GEN_SRC := $(BUILD)/gen/db_sql.c $(BUILD)/gen/db_pg_sql.c
$(BUILD)/gen/db_sql.c: $(SQL_FILES) scripts/sql2c.sh
	@mkdir -p $(dir $@)
	sh scripts/sql2c.sh $(SQL_FILES) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/db_pg_sql.c: $(PG_SQL_FILES) scripts/sql2c.sh
	@mkdir -p $(dir $@)
	sh scripts/sql2c.sh -n db_pg_sql $(PG_SQL_FILES) > $@.tmp && mv $@.tmp $@

# ---- one library per layer (scripts/check-layers.sh keeps the includes to these layers) ----
# Listed so that each comes before the layers it uses (the link order of static libraries):
# the wiring, the features, the core, the modems, the database, the utilities (UTF-8).
MAINS := gateway/linlid.c gateway/linlictl.c
LAYERS := wire sos request call sip notice core modem db util
SRC_wire := gateway/wire.c
SRC_sos := $(wildcard gateway/sos/*.c)
SRC_request := $(wildcard gateway/request/*.c)
SRC_call := $(wildcard gateway/call/*.c)
SRC_sip := $(wildcard gateway/sip/*.c)
SRC_notice := $(wildcard gateway/notice/*.c)
SRC_core := $(wildcard gateway/core/*.c)
SRC_modem := $(wildcard modem/*.c)
SRC_db := $(wildcard db/*.c)
SRC_util := $(wildcard util/*.c)
OBJ_db_extra := $(GEN_SRC:.c=.o)
layer_lib = $(BUILD)/lib/liblinli_$(1).a
layer_libs = $(foreach l,$(1),$(call layer_lib,$(l)))
LIB := $(call layer_libs,$(LAYERS))
LIB_SRC := $(foreach l,$(LAYERS),$(SRC_$(l)))

define layer_rule
$(call layer_lib,$(1)): $(patsubst %.c,$(BUILD)/%.o,$(SRC_$(1))) $(OBJ_$(1)_extra)
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_rule,$(l))))

SIM_SRC := $(filter-out tests/modemsim/modemsim-ctl.c,$(wildcard tests/modemsim/*.c))
UNIT_SRC := $(wildcard tests/unit/*_test.c)
UNIT_FAKES := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
# Each fuzz target (tests/fuzz/NAME_fuzz.c) is also a unit test without libFuzzer: linked with
# tests/fuzz/replay.c, it replays tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME.
FUZZ_SRC := $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_NAMES := $(patsubst tests/fuzz/%_fuzz.c,%,$(FUZZ_SRC))
FUZZ_REPLAY_BIN := $(patsubst %,$(BUILD)/unit/fuzz_%_test,$(FUZZ_NAMES))

PROGRAMS := $(BUILD)/linlid $(BUILD)/linlictl $(BUILD)/modemsim $(BUILD)/modemsim-ctl $(UNIT_BIN) $(BENCH_BIN) \
	$(FUZZ_REPLAY_BIN)

all: $(PROGRAMS)
.PHONY: all deps run test check check-layers bench soak fuzz fuzz-bin clean format format-fix

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/linlid: $(BUILD)/gateway/linlid.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/linlictl: $(BUILD)/gateway/linlictl.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/modemsim: $(patsubst %.c,$(BUILD)/%.o,$(SIM_SRC)) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/modemsim-ctl: $(BUILD)/tests/modemsim/modemsim-ctl.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^

# A unit test links every layer, unless it names its own: UNIT_LAYERS_<name> (the layers it
# tests) and UNIT_FAKES_<name> (objects that stand in for the layers left out, e.g. the fake core).
UNIT_LAYERS_sos_rules_test := sos core modem db util
UNIT_FAKES_sos_rules_test := tests/unit/fake_core.c
UNIT_LAYERS_request_rules_test := request core modem db util
UNIT_LAYERS_notice_test := notice core modem db util
UNIT_FAKES_request_rules_test := tests/unit/fake_core.c
UNIT_LAYERS_request_extend_test := request core modem db util
UNIT_FAKES_request_extend_test := tests/unit/fake_core.c
UNIT_LAYERS_request_http_test := request core modem db util
UNIT_FAKES_request_http_test := tests/unit/fake_core.c tests/unit/fake_http.c
UNIT_LAYERS_mdm_pool_test := modem util
UNIT_LAYERS_http_test := core modem db util
UNIT_FAKES_mdm_pool_test := tests/unit/fake_worker.c
unit_fakes = $(patsubst %.c,$(BUILD)/%.o,$(UNIT_FAKES_$(1)))
.SECONDEXPANSION:
$(BUILD)/unit/%: $(BUILD)/tests/unit/%.o $$(call unit_fakes,$$*) \
		$$(call layer_libs,$$(or $$(UNIT_LAYERS_$$*),$(LAYERS)))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/fuzz/replay_%.o: tests/fuzz/replay.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DFUZZ_NAME='"$*"' -c -o $@ $<

$(FUZZ_REPLAY_BIN): $(BUILD)/unit/fuzz_%_test: $(BUILD)/tests/fuzz/%_fuzz.o $(BUILD)/tests/fuzz/replay_%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# The libFuzzer programs (make fuzz, with CC=clang and SAN=$(FUZZ_SAN)): build/fuzz/NAME_fuzz.
$(BUILD)/%_fuzz: $(BUILD)/tests/fuzz/%_fuzz.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)
fuzz-bin: $(patsubst %,$(BUILD)/%_fuzz,$(FUZZ_NAMES))

# ---- group call prompts: Mandarin, rendered with espeak-ng (cmn) into 8 kHz mu-law at build time ----
PROMPTS_STAMP := $(BUILD)/prompts/.rendered
all: $(PROMPTS_STAMP)

$(BUILD)/wav2ul: $(BUILD)/scripts/wav2ul.o $(BUILD)/gateway/call/media_g711.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lm

$(PROMPTS_STAMP): scripts/prompts.sh $(BUILD)/wav2ul
	sh scripts/prompts.sh $(BUILD)/prompts $(BUILD)/wav2ul
	@touch $@

deps:
	@sh scripts/deps.sh

run: deps
	$(MAKE) all
	sh scripts/demo.sh

# The test build has its own folder so sanitizer objects never mix with the normal ones.
TEST_BUILD := build/test
TEST_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all

test: deps check-layers format
	$(MAKE) BUILD=$(TEST_BUILD) SAN="$(TEST_SAN)" CFLAGS="-O1 -g -fno-omit-frame-pointer" all
	sh tests/run.sh $(TEST_BUILD)

# Features include only gateway/core/ and db/; core, modem and db keep to theirs.
check-layers:
	@sh scripts/check-layers.sh

# `make check` runs the tests against an already-built tree (BUILD=...).
check: all
	sh tests/run.sh $(BUILD)

bench: deps
	@sh scripts/deps.sh deps-bench.txt
	$(MAKE) BUILD=build/bench CFLAGS="-O2 -g" all
	sh bench/run.sh build/bench

# libFuzzer (deps-fuzz.txt: clang, libfuzzer-14-dev) on the layers built with clang and coverage
# instrumentation in their own folder; tests/fuzz/run.sh runs each target FUZZ_S seconds from a
# copy of its seed corpus and writes build/fuzz/RESULTS.txt; it fails when a target crashed.
# -Wno-unused-parameter: clang, unlike gcc, flags the parameters libosmocore's DEFUN and CTRL
# macros declare for every command.
FUZZ_BUILD := build/fuzz
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_S ?= 60
# make soak: the kill -9 loop with many kills, then a steady mixed load (tests/soak/soak.py;
# SOAK_KILLS=30 SOAK_MIN=30 by default); figures in bench/RESULTS.md's Soak section.
soak: deps
	$(MAKE) all
	LINLI_BUILD=$(CURDIR)/build python3 tests/soak/soak.py

fuzz: deps
	@sh scripts/deps.sh deps-fuzz.txt
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang SAN="$(FUZZ_SAN)" \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -Wno-unused-parameter" fuzz-bin
	sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_S) $(FUZZ_NAMES)

# The sources' layout (.clang-format: Linux/Osmocom, tabs of 8, 120 columns); `make format-fix`
# rewrites them. Part of `make test` (after deps, which installs clang-format).
FORMAT_SRC := $(filter-out build/% var/%,$(wildcard */*.c */*.h */*/*.c */*/*.h))
format:
	@clang-format --dry-run -Werror $(FORMAT_SRC) && echo "format: $(words $(FORMAT_SRC)) files clean"
format-fix:
	clang-format -i $(FORMAT_SRC)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
