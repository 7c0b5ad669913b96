# wardd: ward telemetry server for a high-dose IL-2 ward.
#
#   make          build build/wardd (installs missing Debian packages first)
#   make run      build, create ./var/ward.db with a demo ward, serve on 127.0.0.1:8080
#   make test     build, then every test: unit, integration, browser, lint, and
#                 the unit + integration suites again under ASan + UBSan
#   make bench    the benchmark suite (not part of make test)
#   make fuzz     the libFuzzer harnesses tests/fuzz/fuzz_*.c, FUZZ_SECONDS each
#                 (make test replays their corpora and fuzzes each briefly)
#   make mutate   mutation testing of the default rule set (docs/rules.md 10; in make test)
#
# Sources are found by wildcard: a new server/LAYER/x.c joins the daemon, a new
# tests/unit/test_x.c becomes a unit-test binary, a new
# tests/integration/it_x.c an integration-test binary. Nobody edits this file
# to add a module.

.DEFAULT_GOAL := all
BUILD  ?= build
SAN    ?=
CC     ?= cc
LISTEN ?= 127.0.0.1:8080
DB     ?= ./var/ward.db

PKGS := libmicrohttpd jansson sqlite3 libsodium gnutls

WARN := -Wall -Wextra -Werror -Wshadow -Wconversion -Wformat=2 -Wmissing-prototypes \
        -Wstrict-prototypes -Wvla -Wno-sign-conversion
CFLAGS ?= -O2 -g
ifneq ($(SAN),)
CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
# TSAN=1: ThreadSanitizer instead (make threads); races abort (TSAN_OPTIONS below).
TSAN   ?=
ifneq ($(TSAN),)
CFLAGS := -O1 -g -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
endif
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE -Iinclude $(WARN) $(CFLAGS) -MMD -MP $(PKG_CFLAGS)

# Package flags are computed once, after tools/deps.sh has installed the
# packages, and cached in $(BUILD)/config.mk (make rebuilds it, then restarts).
NODEPS_GOALS := clean distclean format
ifeq ($(filter $(NODEPS_GOALS),$(MAKECMDGOALS)),)
-include $(BUILD)/config.mk
endif
$(BUILD)/config.mk: tools/deps.sh Makefile
	@tools/deps.sh build
	@mkdir -p $(BUILD)
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS))"; \
	   echo "PKG_LIBS := $$(pkg-config --libs $(PKGS)) -lpthread -lm"; \
	   echo "CURL_LIBS := $$(pkg-config --libs libcurl)"; \
	   echo "CMOCKA_LIBS := $$(pkg-config --libs cmocka)"; } > $@

SRV_SRC  := $(sort $(wildcard server/*.c server/*/*.c))
SRV_OBJ  := $(SRV_SRC:%.c=$(BUILD)/obj/%.o)
LIB_OBJ  := $(filter-out $(BUILD)/obj/server/main.o,$(SRV_OBJ))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
IT_SRC   := $(sort $(wildcard tests/integration/it_*.c))
IT_BIN   := $(IT_SRC:tests/integration/%.c=$(BUILD)/tests/%)
IT_LIB   := $(filter-out $(IT_SRC),$(wildcard tests/integration/*.c))
IT_LIBO  := $(IT_LIB:%.c=$(BUILD)/obj/%.o)
TOOL_SRC := $(sort $(wildcard tools/*/main.c))
TOOL_BIN := $(TOOL_SRC:tools/%/main.c=$(BUILD)/%)
EMBED    := $(BUILD)/gen/embedded_migrations.h

.PHONY: all run demo test check unit integration browser fhir-clients lint format sanitize threads bench clean deps
all: $(BUILD)/wardd $(TOOL_BIN)

deps:
	@tools/deps.sh build

$(BUILD)/wardd: $(SRV_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/obj/%.o: %.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(BUILD)/gen -c -o $@ $<

# Migrations are compiled into the binary: schema/migrations/NNNN_name.sql.
$(BUILD)/obj/server/store/migrate.o: $(EMBED)
$(EMBED): $(sort $(wildcard schema/migrations/*.sql)) tools/embed.sh
	@mkdir -p $(dir $@)
	tools/embed.sh $(sort $(wildcard schema/migrations/*.sql)) > $@

# The API contract is compiled into the binary: GET /api/v1/openapi.json.
OPENAPI_H := $(BUILD)/gen/openapi_json.h
$(BUILD)/obj/server/api/api_openapi.o: $(OPENAPI_H)
$(OPENAPI_H): docs/openapi.json tools/embed-text.sh
	@mkdir -p $(dir $@)
	tools/embed-text.sh openapi_json docs/openapi.json > $@

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/it_%: tests/integration/it_%.c $(IT_LIBO) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/integration $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CURL_LIBS) $(CMOCKA_LIBS)

# Mutation testing of the default rule set (docs/rules.md): every
# comparison flipped and every threshold moved one printed step, each run
# against the case folders in-process.
.PHONY: mutate
$(BUILD)/tests/mutate: tests/mutate/mutate.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)
mutate: $(BUILD)/tests/mutate
	@$(BUILD)/tests/mutate

# The harness objects are shared by every it_* binary: keep them.
.SECONDARY: $(IT_LIBO)
$(BUILD)/obj/tests/integration/%.o: tests/integration/%.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/integration -c -o $@ $<

# Tools: tools/NAME/*.c -> build/NAME, linked with the daemon's modules.
.SECONDEXPANSION:
$(TOOL_BIN): $(BUILD)/%: $$(wildcard tools/$$*/*.c) $(LIB_OBJ) $(BUILD)/config.mk
	$(CC) $(ALL_CFLAGS) -Itools/$* $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(PKG_LIBS) $(CURL_LIBS)

# --- running --------------------------------------------------------------
run:
	@$(MAKE) -j$(JOBS) --no-print-directory all
	@mkdir -p $(dir $(DB))
	$(BUILD)/wardd demo --db $(DB) --out $(dir $(DB))demo-devices.json
	exec $(BUILD)/wardd serve --listen $(LISTEN) --db $(DB) --web web

# demo: the dashboard comes alive. Seeds $(DB) with the demo ward when it is
# new, serves it with the dashboard on $(LISTEN) in the background, and runs
# build/wardsim against it at 60x (a 5-day cycle in 2 hours) with the demo
# devices and the demo nurse; the profiles follow the seeded beds' stories
# (server/demo.c). When wardsim exits, or on Ctrl-C, the trap stops wardd
# (SIGTERM) and waits for its clean shutdown.
demo: all
	@mkdir -p $(dir $(DB))
	@test -f $(DB) || $(BUILD)/wardd demo --db $(DB) --out $(dir $(DB))demo-devices.json
	@$(BUILD)/wardd serve --listen $(LISTEN) --db $(DB) --web web & wardd=$$!; \
	 trap 'kill $$wardd 2>/dev/null; wait $$wardd' EXIT; trap 'exit 130' INT TERM; \
	 echo "demo: dashboard on http://$(LISTEN)/ (nurse / wardd-nurse-demo); Ctrl-C stops"; \
	 $(BUILD)/wardsim --url http://$(LISTEN) --devices $(dir $(DB))demo-devices.json \
	   --speed 60 --start-day 2 --profiles well,leak,leak,af,oliguria,confusion \
	   --nurse nurse:wardd-nurse-demo

# --- tests ----------------------------------------------------------------
# check: unit + integration for one build (BUILD/SAN select which).
# One suite after the other (never side by side, even under -j). Within
# the integration suite IT_JOBS binaries run side by side (each has its own
# wardd, port and database; the suite spends most of its time waiting on
# servers, restarts and clocks), except IT_ALONE, which measure latency or
# time limits and run afterwards with the machine to themselves: it_attack
# (device p99 under attack), it_events (event within 2 s), it_stream_auth
# (stream ends within a bound), it_netsec (idle timeout, per-address
# limits), it_proxy (nginx on a port it picks before binding).
IT_JOBS  ?= 2
IT_ALONE ?= it_attack it_events it_stream_auth it_netsec it_proxy
check:
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration

unit: $(UNIT_BIN)
	@tests/run-suite.sh unit $(UNIT_BIN)

integration: $(IT_BIN) $(BUILD)/wardd
	@rm -f $(BUILD)/responses-integration.jsonl
	@WARDD_BIN=$(abspath $(BUILD)/wardd) WARDD_WEB=$(abspath web) \
	  WARDD_RESPONSE_LOG=$(abspath $(BUILD))/responses-integration.jsonl \
	  SUITE_JOBS=$(IT_JOBS) SUITE_ALONE="$(IT_ALONE)" tests/run-suite.sh integration $(IT_BIN)

sanitize:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 check

# The same under ThreadSanitizer: a data race aborts the test binary or the
# server it runs (halt_on_error), so the suite fails.
threads:
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  $(MAKE) --no-print-directory BUILD=build/tsan TSAN=1 check

browser: all
	@tools/deps.sh test
	@tests/e2e/run.sh $(abspath $(BUILD)/wardd)

# FHIR R4 with real clients (fhir-kit-client, fhirclient) and every /fhir
# response checked against the official R4 JSON Schema (docs/fhir.md).
fhir-clients: all
	@tools/deps.sh test
	@tests/fhir/run.sh $(abspath $(BUILD)/wardd)

LINT_SRC = $(wildcard server/*.[ch] server/*/*.[ch] include/*.h tests/unit/*.[ch] tests/integration/*.[ch] \
             tools/*/*.[ch] bench/*.c tests/fuzz/*.[ch])
LINT_SRC += $(wildcard tests/mutate/*.c)
lint:
	@tools/deps.sh test
	@clang-format --dry-run -Werror $(LINT_SRC)
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --std=c11 -Iinclude -I$(BUILD)/gen server tests/unit tests/integration \
	  tools $(wildcard bench/*.c) $(wildcard tests/fuzz/*.c)
	@tools/checklayers.sh
	@tests/lint/test_checklayers.sh
	@tools/checkfuncs.sh
	@tests/lint/test_checkfuncs.sh
	@echo "lint: clang-format, cppcheck, layering and function length clean"

format:
	clang-format -i $(LINT_SRC)

# Builds use every core (JOBS, default nproc: a clean clone's four builds,
# plain, ASan, TSan and the fuzzers', take half as long on 2 cores); the
# suites still run one binary at a time.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test:
	@tools/deps.sh test
	@rm -f build/.results
	@$(MAKE) -j$(JOBS) --no-print-directory all
	@$(MAKE) --no-print-directory lint
	@$(MAKE) -j$(JOBS) --no-print-directory check
	@$(MAKE) -j$(JOBS) --no-print-directory mutate
	@$(MAKE) -j$(JOBS) --no-print-directory sanitize
	@$(MAKE) -j$(JOBS) --no-print-directory threads
	@$(MAKE) --no-print-directory browser
	@$(MAKE) --no-print-directory fhir-clients
	@$(MAKE) --no-print-directory api-contract API_WARDD=$(abspath build/asan/wardd) \
	  API_LOGS="$(BUILD)/responses-integration.jsonl $(BUILD)/responses-browser.jsonl"
	@$(MAKE) -j$(JOBS) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory hl7-clients
	@tests/run-suite.sh total

# The API contract (docs/api.md, "The OpenAPI document"): redocly lint of
# docs/openapi.json, every response the integration and browser suites
# logged (WARDD_RESPONSE_LOG) checked against it, and random requests per
# role against a fresh wardd (tests/api/run.sh). API_LOGS: the logs to
# check; make test names both suites' and so fails if one is missing.
# API_WARDD: the daemon the generator runs; make test gives it the ASan +
# UBSan build, whose leak check at exit has caught a leak the other cannot.
.PHONY: api-contract
API_LOGS ?= $(wildcard $(BUILD)/responses-integration.jsonl $(BUILD)/responses-browser.jsonl)
API_WARDD ?= $(abspath $(BUILD)/wardd)
api-contract: $(BUILD)/wardd
	@tools/deps.sh test
	@tests/api/run.sh $(API_WARDD) $(API_LOGS)

# Benchmarks (docs/performance.md): bench/NAME.c -> build/bench/NAME;
# engine_cost and bulkload also link the daemon's modules.
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(sort $(wildcard bench/*.c)))
$(BUILD)/bench/engine_cost $(BUILD)/bench/bulkload: $(LIB_OBJ)
$(BENCH_BIN): $(BUILD)/bench/%: bench/%.c $(wildcard bench/*.h) $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(PKG_LIBS) $(CURL_LIBS)

# bench/preload/nofsync.c: the LD_PRELOAD shim of the fsync A/B run only.
$(BUILD)/bench/nofsync.so: bench/preload/nofsync.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared -fPIC -o $@ $<

bench: all $(BENCH_BIN) $(BUILD)/bench/nofsync.so
	@tools/deps.sh bench
	@BUILD=$(BUILD) bench/run.sh

# --- fuzzing (docs/security.md "Fuzzing") -----------------------------------------
# Every tests/fuzz/fuzz_NAME.c is a libFuzzer harness (LLVMFuzzerTestOneInput)
# with its seed corpus in tests/fuzz/corpus/NAME/. It may call anything of
# the daemon: the daemon's modules are built again with clang, libFuzzer's
# instrumentation, ASan and UBSan in $(FUZZ_BUILD) and all linked in. A new
# harness needs no edit here.
#   make fuzz          fuzz each harness for FUZZ_SECONDS (default 60)
#   make fuzz-smoke    (part of make test) replay each corpus, then fuzz each
#                      harness for FUZZ_SMOKE_SECONDS (default 5)
FUZZ_BUILD ?= build/fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIBO := $(LIB_OBJ:$(BUILD)/obj/%=$(FUZZ_BUILD)/obj/%)
FUZZ_CFLAGS = -std=c17 -D_GNU_SOURCE -Iinclude -I$(BUILD)/gen $(filter-out -Werror,$(WARN)) \
              -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined $(PKG_CFLAGS)

.PHONY: fuzz fuzz-smoke fuzz-build
$(FUZZ_BUILD)/obj/%.o: %.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
$(FUZZ_BUILD)/obj/server/store/migrate.o: $(EMBED)
# The instrumented objects are shared by every harness: keep them.
.SECONDARY: $(FUZZ_LIBO)
$(FUZZ_BUILD)/obj/server/api/api_openapi.o: $(OPENAPI_H)
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIBO)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@tools/deps.sh test
	@tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_BIN)

fuzz-smoke: $(FUZZ_BIN)
	@tests/fuzz/run.sh smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_BIN)

-include $(FUZZ_LIBO:.o=.d)

clean:
	rm -rf build

-include $(SRV_OBJ:.o=.d)

# HL7 v2 code map (schema/hl7/codemap.tsv) compiled into the binary as one
# string (server/hl7/codemap.c), so an installed wardd needs no data file.
$(BUILD)/obj/server/hl7/codemap.o: $(BUILD)/gen/hl7_codemap.h
$(BUILD)/gen/hl7_codemap.h: schema/hl7/codemap.tsv
	@mkdir -p $(dir $@)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@

# Real HL7 v2 clients (node-hl7-client, simple-hl7; tests/hl7, pinned for
# Node 18) deliver every PCD-01 fixture to a live wardd over MLLP.
.PHONY: hl7-clients
hl7-clients: all
	@tools/deps.sh test
	@WARDD_BIN=$(abspath $(BUILD)/wardd) node --test tests/hl7/clients.test.mjs
