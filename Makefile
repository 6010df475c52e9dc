# floodgate: one non-recursive Makefile, out-of-tree build in build/.
#
#   make            build the daemons and the CLI into build/
#   make test       install what is missing, build, run unit and e2e tests
#   make run        install what is missing, build, run everything on
#                   deploy/floodgate.conf with a private redis-server
#   make demo       send a synthetic NetFlow v5 flood to a running `make run`
#   make SAN=1 ...  the same with AddressSanitizer + UBSan (in build-san/)
#   make install    binaries, man pages, systemd units, example config
#                   (PREFIX=/usr/local, DESTDIR=, SYSCONFDIR=/etc)
#   make image      container image with podman (base made by debootstrap)
#   make compose-test  deploy/docker-compose.yml up with podman-compose: floods,
#                   Curve refusals, actuator takeover, Redis failover
#                   (makes the image when missing; ~85 s, README)

CC       ?= cc
OPT      ?= -O2 -g
PKGS     := libczmq libzmq libprotobuf-c hiredis libmicrohttpd jansson libpcap
WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Wno-format-nonliteral -Werror
ifeq ($(SAN),1)
B        := build-san
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
B        := build
# Link-time optimisation for the daemons and benchmarks: the per-record path
# crosses agg.c, agg_hold.c, hring.c, hosttable.c and flowbatch.c, and
# inlining across them saves 15 % of the aggregator's instructions
# (bench/RESULTS.md). Fat objects: the tests link the same objects' plain
# code, with no LTO pass per test binary. LTO= turns it off.
LTO      ?= -flto=auto -ffat-lto-objects
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(LTO) $(WARN) -I. -I$(B)/proto $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lm $(LDLIBS)
LDFLAGS_ALL = $(OPT) $(LDFLAGS)
# the daemons, CLI and benchmarks link with LTO (the tests without)
LDFLAGS_LTO = $(LDFLAGS_ALL) $(if $(LTO),-flto=auto $(WARN))

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
# common/config.c lists each daemon's config section (in the daemon's library),
# and the daemons use common: one group, searched until nothing is missing.
LINK_LIBS := -Wl,--start-group $(ALL_LIBS) -Wl,--end-group

UNIT_SRC  := $(wildcard tests/test_*.c)
UNIT_BINS := $(patsubst tests/%.c,$(B)/tests/%,$(UNIT_SRC))
E2E_SRC   := $(wildcard tests/e2e/e2e_*.c)
E2E_BINS  := $(patsubst tests/e2e/%.c,$(B)/tests/%,$(E2E_SRC))
HARNESS   := $(B)/tests/harness.o

.SECONDARY:

.PHONY: all deps test unit e2e run demo clean fmt bench bench-build man install deploy-check multihost multihost-ha image compose-test fuzz fuzz-smoke bench-decode bench-bgp
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
	$(CC) $(LDFLAGS_LTO) -o $@ $< $(LINK_LIBS) $(LDLIBS_ALL)

$(B)/floodgate: $(B)/cli/main.o $(ALL_LIBS)
	$(CC) $(LDFLAGS_LTO) -o $@ $< $(LINK_LIBS) $(LDLIBS_ALL)

# Benchmarks (not part of `make test`; results in bench/RESULTS.md).
BENCH_BINS := $(patsubst bench/bench_%.c,$(B)/floodgate-bench-%,$(wildcard bench/bench_*.c))
BENCH_LIB := $(B)/bench/benchlib.o
# `make bench`: the whole pipeline against FastNetMon (short: 4 s per run,
# about 6 minutes in all; BENCH_SECONDS / BENCH_TRIALS for a longer one).
# `make bench-build` only builds the benchmark binaries.
BENCH_SECONDS ?= 4
BENCH_TRIALS ?= 10
bench: bench-build
	$(B)/floodgate-bench-agg --mix 65536 30
	$(B)/floodgate-bench-agg --mix 1000000 60
	FG_BUILD=$(B) $(B)/floodgate-bench-pipeline --matrix --seconds $(BENCH_SECONDS) --fastnetmon
	bench/latency_vs_fastnetmon.sh $(B) $(BENCH_TRIALS)
bench-build: $(BINS) $(BENCH_BINS) $(B)/floodgate-flowgen
$(B)/floodgate-bench-%: $(B)/bench/bench_%.o $(BENCH_LIB) $(HARNESS) $(ALL_LIBS)
	$(CC) $(LDFLAGS_LTO) -o $@ $< $(BENCH_LIB) $(HARNESS) $(LINK_LIBS) $(LDLIBS_ALL) -lcmocka

# make bench-decode [BENCH_DECODE_ARGS="--fastnetmon --sock-seconds 10 --rate 300000"]
BENCH_DECODE_ARGS ?= --fastnetmon
bench-decode: $(BINS) $(B)/floodgate-bench-decode
	FG_BUILD=$(B) $(B)/floodgate-bench-decode $(BENCH_DECODE_ARGS)

$(B)/floodgate-flowgen: $(B)/bench/flowgen.o $(ALL_LIBS)
	$(CC) $(LDFLAGS_LTO) -o $@ $< $(LINK_LIBS) $(LDLIBS_ALL)

# Decision -> route in BIRD, latency and bans/s (bench/RESULTS.md); not in `make test`.
$(B)/floodgate-bench-bgp: $(B)/bench/bgp_bench.o $(HARNESS) $(ALL_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(HARNESS) $(LINK_LIBS) $(LDLIBS_ALL) -lcmocka

bench-bgp: all $(B)/floodgate-bench-bgp
	FG_BUILD=$(B) $(B)/floodgate-bench-bgp --rate 10 --bans 300
	FG_BUILD=$(B) $(B)/floodgate-bench-bgp --backend exabgp --rate 10 --bans 300

$(B)/tests/test_%: $(B)/tests/test_%.o $(HARNESS) $(ALL_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(HARNESS) $(LINK_LIBS) $(LDLIBS_ALL) -lcmocka

$(B)/tests/e2e_%: $(B)/tests/e2e/e2e_%.o $(HARNESS) $(ALL_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(HARNESS) $(LINK_LIBS) $(LDLIBS_ALL) -lcmocka

# `make test`: deps first (a fresh machine needs nothing else), then build in
# a second make so pkg-config sees the freshly installed packages.
test: deps
	@$(MAKE) --no-print-directory unit e2e deploy-check fuzz-smoke multihost multihost-ha

unit: $(BINS) $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; FG_BUILD=$(B) $$t; done

e2e: $(BINS) $(E2E_BINS)
	@set -e; for t in $(E2E_BINS); do echo "== $$t"; FG_BUILD=$(B) $$t; done

run: deps
	@$(MAKE) --no-print-directory all
	@./deploy/run.sh $(B)

demo: all
	@./deploy/demo.sh $(B)

# ---- fuzzing: a libFuzzer target per parser of hostile input (clang) ------
#   make fuzz                  each target FUZZ_SECONDS (60) seconds
#   make fuzz-smoke            each target 3 seconds (part of make test)
# Every library source (minus the daemons' main.c) is built once more with
# clang, coverage and ASan/UBSan into $(FZ)/libfg_fuzz.a; each target links
# what it uses from it. Seeds: tests/fuzz/seeds.c (tests/fuzz/run.sh).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FZ           := build-fuzz
FUZZ_TARGETS := netflow_v5 netflow_v9 ipfix sflow collector window wbwrite decision \
                flowbatch_agg config ban_hash ban_hist gobgp_rib flowspec
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FZ)/fuzz_%) $(FZ)/seeds
FUZZ_LIBSRC  := $(common_SRC) $(collector_SRC) $(aggregator_SRC) $(detector_SRC) $(actuator_SRC)
FUZZ_OBJS    := $(patsubst %.c,$(FZ)/%.o,$(FUZZ_LIBSRC)) $(FZ)/proto/floodgate.pb-c.o
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE -O1 -g -I. -I$(B)/proto $(WARN) $(FUZZ_SAN)

$(FZ)/%.o: %.c $(B)/proto/floodgate.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(FZ)/proto/floodgate.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Wno-error -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -c -o $@ $<

$(FZ)/libfg_fuzz.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FZ)/libfg_fuzz.a
	@mkdir -p $(FZ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -o $@ $< $(FZ)/libfg_fuzz.a \
		$(PKG_LIBS) -lm

# The seed writer packs protobuf messages: the codecs and the generated code
# (no sanitizers, no coverage).
SEEDS_SRC := tests/fuzz/seeds.c common/addr.c common/window.c common/decision.c \
             common/flowbatch.c common/fgbuf.c common/classes.c common/pbcheck.c \
             common/pbarena.c $(PROTO_C)
$(FZ)/seeds: $(SEEDS_SRC) tests/flowtest.h $(B)/proto/floodgate.pb-c.h
	@mkdir -p $(FZ)
	$(CC) -std=c11 -D_GNU_SOURCE -O1 -g -I. -I$(B)/proto $(WARN) \
		-o $@ $(SEEDS_SRC) $(shell pkg-config --libs libprotobuf-c 2>/dev/null)

fuzz: $(FUZZ_BINS)
	@./tests/fuzz/run.sh $(FZ) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_BINS)
	@./tests/fuzz/run.sh $(FZ) 3 $(FUZZ_TARGETS)

-include $(shell find $(FZ) -name '*.d' 2>/dev/null)

clean:
	rm -rf build build-san build-fuzz run

# ---- deployment: man pages, install, checks, container image ----
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/floodgate
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d

# Man pages: Markdown in docs/man through go-md2man; floodgate.conf(5)'s key
# list is generated from deploy/floodgate.conf, so it follows the example.
MAN_MD    := $(wildcard docs/man/*.md)
MAN_PAGES := $(patsubst docs/man/%.md,$(B)/man/%,$(MAN_MD)) $(B)/man/floodgate.conf.5
man: $(MAN_PAGES)

$(B)/man/%: docs/man/%.md
	@mkdir -p $(B)/man
	go-md2man -in $< -out $@

$(B)/man/floodgate.conf.5.md: docs/man/floodgate.conf.5.md.in docs/man/conf2md.awk deploy/floodgate.conf
	@mkdir -p $(B)/man
	awk -f docs/man/conf2md.awk deploy/floodgate.conf > $@.keys
	awk -v keys=$@.keys '/^@KEYS@$$/ { while ((getline l < keys) > 0) print l; next } { print }' $< > $@

$(B)/man/floodgate.conf.5: $(B)/man/floodgate.conf.5.md
	go-md2man -in $< -out $@

UNITS := $(wildcard deploy/systemd/*.service) deploy/systemd/floodgate.target
install: all man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/floodgate \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(B)/floodgate $(B)/floodgate-flowgen $(DESTDIR)$(BINDIR)/
	install -m 755 $(DAEMONS:%=$(B)/floodgate-%) $(DESTDIR)$(SBINDIR)/
	install -m 644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man5/
	install -m 644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man8/
	for u in $(UNITS); do \
	  sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$u \
	    > $(DESTDIR)$(UNITDIR)/$$(basename $$u) && chmod 644 $(DESTDIR)$(UNITDIR)/$$(basename $$u); done
	install -m 644 deploy/systemd/floodgate.sysusers $(DESTDIR)$(SYSUSERSDIR)/floodgate.conf
	install -m 644 deploy/floodgate.conf $(DESTDIR)$(DOCDIR)/floodgate.conf.example
	@# never overwrite an operator's configuration
	test -e $(DESTDIR)$(SYSCONFDIR)/floodgate/floodgate.conf || \
	  install -m 644 deploy/floodgate.conf $(DESTDIR)$(SYSCONFDIR)/floodgate/floodgate.conf

# In `make test`: man pages list every key and option, `make install` puts
# everything in place, the compose file is valid for docker-compose and its
# environment for the config loader, the systemd units pass systemd-analyze.
deploy-check: all man
	@tests/deploy_check.sh $(B)

# In `make test`: hosts as network namespaces (needs root; skips otherwise),
# with an outsider's namespace trying to steer them (floodgate-forge).
multihost: all $(B)/tests/floodgate-forge
	@tests/e2e/multihost.sh $(B)

$(B)/tests/floodgate-forge: $(B)/tests/forge.o $(ALL_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(ALL_LIBS) $(LDLIBS_ALL)

multihost-ha: all
	@tests/e2e/multihost_ha.sh $(B)

# Not in `make test` (minutes): the image, then the compose file run for real.
image:
	@deploy/image.sh

compose-test:
	@deploy/compose-test.sh $(B)

fmt:
	clang-format -i $$(git ls-files '*.c' '*.h')

-include $(shell find $(B) -name '*.d' 2>/dev/null)
