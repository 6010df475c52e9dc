# floodgate: one non-recursive Makefile, out-of-tree build in build/.
#
#   make            build the daemons and the CLI into build/
#   make test       install what is missing, build, run unit and e2e tests
#   make run        install what is missing, build, run everything on
#                   deploy/floodgate.conf with a private redis-server
#   make demo       send a synthetic NetFlow v5 flood to a running `make run`
#   make SAN=1 ...  the same with AddressSanitizer + UBSan (in build-san/)

CC       ?= cc
OPT      ?= -O2 -g
PKGS     := libczmq libzmq libprotobuf-c hiredis
WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Wno-format-nonliteral -Werror
ifeq ($(SAN),1)
B        := build-san
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
B        := build
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -I. -I$(B)/proto $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lm $(LDLIBS)
LDFLAGS_ALL = $(OPT) $(LDFLAGS)

DAEMONS  := collector aggregator detector actuator
BINS     := $(DAEMONS:%=$(B)/floodgate-%) $(B)/floodgate $(B)/floodgate-flowgen

PROTO_C  := $(B)/proto/floodgate.pb-c.c
PROTO_H  := $(B)/proto/floodgate.pb-c.h

# Each directory's sources, minus its main.c, form a static library that the
# daemon and the unit tests link against.
common_SRC     := $(wildcard common/*.c)
collector_SRC  := $(filter-out collector/main.c,$(wildcard collector/*.c))
aggregator_SRC := $(filter-out aggregator/main.c,$(wildcard aggregator/*.c))
detector_SRC   := $(filter-out detector/main.c,$(wildcard detector/*.c))
actuator_SRC   := $(filter-out actuator/main.c,$(wildcard actuator/*.c))
cli_SRC        := $(filter-out cli/main.c,$(wildcard cli/*.c))

obj = $(patsubst %.c,$(B)/%.o,$(1))
LIB_common     := $(B)/libfg_common.a
LIB_collector  := $(B)/libfg_collector.a
LIB_aggregator := $(B)/libfg_aggregator.a
LIB_detector   := $(B)/libfg_detector.a
LIB_actuator   := $(B)/libfg_actuator.a
LIB_cli        := $(B)/libfg_cli.a
ALL_LIBS := $(LIB_collector) $(LIB_aggregator) $(LIB_detector) $(LIB_actuator) $(LIB_cli) $(LIB_common)

UNIT_SRC  := $(wildcard tests/test_*.c)
UNIT_BINS := $(patsubst tests/%.c,$(B)/tests/%,$(UNIT_SRC))
E2E_SRC   := $(wildcard tests/e2e/e2e_*.c)
E2E_BINS  := $(patsubst tests/e2e/%.c,$(B)/tests/%,$(E2E_SRC))
HARNESS   := $(B)/tests/harness.o

.SECONDARY:
.PHONY: all deps test unit e2e run demo clean fmt
all: $(BINS)

deps:
	@./deploy/deps.sh

$(B)/proto/%.pb-c.c $(B)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(B)/proto
	protoc-c --proto_path=proto --c_out=$(B)/proto $<

$(B)/%.o: %.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(B)/proto/floodgate.pb-c.o: $(PROTO_C)
	$(CC) $(CFLAGS_ALL) -Wno-error -c -o $@ $<

define lib_rule
$$(LIB_$(1)): $$(call obj,$$($(1)_SRC)) $(2)
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(eval $(call lib_rule,common,$(B)/proto/floodgate.pb-c.o))
$(eval $(call lib_rule,collector,))
$(eval $(call lib_rule,aggregator,))
$(eval $(call lib_rule,detector,))
$(eval $(call lib_rule,actuator,))
$(eval $(call lib_rule,cli,))

$(B)/floodgate-%: $(B)/%/main.o $(ALL_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(ALL_LIBS) $(LDLIBS_ALL)

$(B)/floodgate: $(B)/cli/main.o $(ALL_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(ALL_LIBS) $(LDLIBS_ALL)

$(B)/floodgate-flowgen: $(B)/bench/flowgen.o $(ALL_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(ALL_LIBS) $(LDLIBS_ALL)

$(B)/tests/test_%: $(B)/tests/test_%.o $(HARNESS) $(ALL_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(HARNESS) $(ALL_LIBS) $(LDLIBS_ALL) -lcmocka

$(B)/tests/e2e_%: $(B)/tests/e2e/e2e_%.o $(HARNESS) $(ALL_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(HARNESS) $(ALL_LIBS) $(LDLIBS_ALL) -lcmocka

# `make test`: deps first (a fresh machine needs nothing else), then build in
# a second make so pkg-config sees the freshly installed packages.
test: deps
	@$(MAKE) --no-print-directory unit e2e

unit: $(BINS) $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; FG_BUILD=$(B) $$t; done

e2e: $(BINS) $(E2E_BINS)
	@set -e; for t in $(E2E_BINS); do echo "== $$t"; FG_BUILD=$(B) $$t; done

run: deps
	@$(MAKE) --no-print-directory all
	@./deploy/run.sh $(B)

demo: all
	@./deploy/demo.sh $(B)

clean:
	rm -rf build build-san run

fmt:
	clang-format -i $$(git ls-files '*.c' '*.h')

-include $(shell find $(B) -name '*.d' 2>/dev/null)
