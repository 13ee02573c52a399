# petrel: one non-recursive Makefile.
#
#   make            build the binaries into build/
#   make deps       install missing Debian packages (idempotent)
#   make check      deps, then unit tests, a short run of each fuzz target (clang), integration
#                   tests (root); SAN=1 for ASan+UBSan
#   make demo       one node, workloads in every mode, in pt-demo-* namespaces
#   make bench      benchmarks (printed, never pass/fail)
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each; make fuzz-check: make check's run
#   make install    into $(DESTDIR)$(PREFIX)

PREFIX   ?= /usr/local
DESTDIR  ?=
B        := build
CC       ?= gcc
PKGS     := libnl-3.0 libnl-route-3.0 libmnl libnftnl yaml-0.1 sqlite3 jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libcurl: its headers only; the etcd backend dlopen()s it (datastore/ds_etcd_int.h)
PKG_CFLAGS += $(shell pkg-config --cflags libcurl 2>/dev/null)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wmissing-prototypes \
            -Wno-unused-parameter -Werror -I. $(PKG_CFLAGS) -MMD -MP
LDLIBS   += $(PKG_LIBS)
# petrelctl runs once per endpoint set-up and tear-down: linked statically
# against its libraries, it starts as fast as /bin/true (the dynamic loader
# costs 0.3-0.9 ms a run here). Debian's -dev packages ship the archives.
CTL_LDLIBS := -Wl,-Bstatic -lnl-route-3 -lnl-3 -lyaml -lsqlite3 -ljansson \
              -Wl,-Bdynamic -lm -lpthread -ldl

ifeq ($(SAN),1)
B        := build-san
CFLAGS   += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

# The library: every .c in these folders, linked into each binary as an archive
# so that a unit test pulls in only the objects it uses.
LIB_SRCS := $(wildcard common/*.c model/*.c datastore/*.c ipam/*.c bgpconf/*.c policy/*.c endpoint/*.c) \
            $(filter-out cni/main_%.c,$(wildcard cni/*.c)) \
            $(filter-out netavark/main.c,$(wildcard netavark/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIB      := $(B)/libpetrel.a

# felix's parts (felix/*.c but main.c) are a library of their own, so that
# unit tests (tests/unit/test_felix_*.c) link the parts they test.
FELIX_SRCS := $(filter-out felix/main.c,$(wildcard felix/*.c))
FELIX_OBJS := $(FELIX_SRCS:%.c=$(B)/%.o)
FELIX_LIB  := $(B)/libfelix.a
CLI_SRCS   := $(wildcard cli/*.c)

BINS := $(B)/petrel-felix $(B)/petrelctl
# The CNI plugins: cni/main_petrel.c and cni/main_ipam.c; the rest of cni/
# (config and result codec) is in the library, for the unit tests and fuzzers.
ifneq ($(wildcard cni/main_petrel.c),)
BINS += $(B)/petrel
endif
ifneq ($(wildcard cni/main_ipam.c),)
BINS += $(B)/petrel-ipam
endif
# The netavark plugin: netavark/main.c; its codec (netavark/nv.c) is in the
# library, for the unit test and the fuzzer.
ifneq ($(wildcard netavark/main.c),)
BINS += $(B)/petrel-netavark
endif
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(B)/bench/%)
TOOL_SRCS  := $(wildcard tests/tools/*.c)
TOOL_BINS  := $(TOOL_SRCS:tests/tools/%.c=$(B)/tools/%)

all: $(BINS) $(UNIT_BINS) $(BENCH_BINS) $(TOOL_BINS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(FELIX_LIB): $(FELIX_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/petrel-felix: $(B)/felix/main.o $(FELIX_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/petrelctl: $(CLI_SRCS:%.c=$(B)/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CTL_LDLIBS)

$(B)/petrel: $(B)/cni/main_petrel.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CTL_LDLIBS)

$(B)/petrel-ipam: $(B)/cni/main_ipam.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CTL_LDLIBS)

$(B)/petrel-netavark: $(B)/netavark/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CTL_LDLIBS)

$(B)/tests/%: $(B)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Unit tests of felix's parts link the felix objects they test (felix is
# not in the library).
$(B)/tests/test_pol_hosts: $(B)/tests/unit/test_pol_hosts.o $(B)/felix/pol_hosts.o \
			   $(B)/felix/htab.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(B)/tests/test_pol_part: $(B)/tests/unit/test_pol_part.o \
			  $(patsubst %.c,$(B)/%.o,$(wildcard felix/pol*.c)) \
			  $(B)/felix/htab.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# felix's unit tests: the felix library before petrel's.
$(B)/tests/test_felix_%: $(B)/tests/unit/test_felix_%.o $(FELIX_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(B)/bench/%: $(B)/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tools/%: $(B)/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@tests/deps.sh

# check and demo install what is missing first (README's promise: each
# works on its own on a fresh machine); the build runs after, in a new make,
# so that pkg-config sees the libraries just installed.
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory fuzz-build-quiet
	@B=$(B) tests/run.sh

unit: $(UNIT_BINS)
	@B=$(B) tests/run.sh unit

demo: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) tests/demo.sh

bench: all
	@B=$(B) tests/bench/run.sh

# libFuzzer targets: one per parser of outside input (tests/fuzz/fuzz_*.c).
# The library and felix's parts are compiled once for them, with the
# sanitizers and libFuzzer's coverage but not its main()
# (-fsanitize=fuzzer-no-link), into archives of their own; each target is its
# harness linked against those, so that adding a target costs one compile.
# A target named fuzz_felix_* links felix's parts too.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
FB          := build-fuzz/obj
FUZZ_CC     ?= clang
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -I. $(PKG_CFLAGS) \
               -Wall -Wextra -Wno-unused-parameter -MMD -MP $(FUZZ_SAN)
FUZZ_LIB    := build-fuzz/libpetrel.a
FUZZ_FELIX  := build-fuzz/libfelix.a
$(FB)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
# The CLI's argument parsing, with ctl_setup() refusing (see cli/petrelctl.c).
$(FB)/cli/%.o: cli/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -DPETREL_FUZZ -c -o $@ $<
$(FUZZ_LIB): $(LIB_SRCS:%.c=$(FB)/%.o)
	rm -f $@ && ar rcs $@ $^
$(FUZZ_FELIX): $(FELIX_SRCS:%.c=$(FB)/%.o)
	rm -f $@ && ar rcs $@ $^
build-fuzz/%: $(FB)/tests/fuzz/%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)
build-fuzz/fuzz_felix_%: $(FB)/tests/fuzz/fuzz_felix_%.o $(FUZZ_FELIX) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)
build-fuzz/fuzz_cli: $(FB)/tests/fuzz/fuzz_cli.o $(CLI_SRCS:%.c=$(FB)/%.o) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)
fuzz-build: $(FUZZ_BINS)
# FUZZ_SECONDS per target (tests/fuzz/run.sh; 20 by default).
fuzz: $(FUZZ_BINS)
	@tests/fuzz/run.sh $(FUZZ_BINS)
# What make check runs (tests/run.sh fuzz): each target over its corpus,
# then a few seconds of fuzzing; without clang, one skip line. A target
# that does not build counts as failed.
fuzz-check: fuzz-build-quiet
	@tests/run.sh fuzz
# Builds what it can, quietly (build-fuzz/build.log); never fails: a target
# that did not build is a failure of tests/run.sh fuzz.
fuzz-build-quiet:
	@if command -v $(FUZZ_CC) >/dev/null 2>&1; then mkdir -p build-fuzz; \
		$(MAKE) --no-print-directory -k fuzz-build >build-fuzz/build.log 2>&1 || \
		{ grep -E 'error|Error' build-fuzz/build.log | head -20; \
		  echo "fuzz: build failed (build-fuzz/build.log)"; }; fi

CNI_BINDIR ?= /opt/cni/bin
# netavark finds a plugin by its driver's name in its plugin directories
# (podman's netavark_plugin_dirs; /usr/local/libexec/netavark first).
NETAVARK_PLUGINDIR ?= $(PREFIX)/libexec/netavark
install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	        $(DESTDIR)/etc/iproute2/rt_protos.d $(DESTDIR)/lib/systemd/system \
	        $(DESTDIR)$(CNI_BINDIR) $(DESTDIR)$(NETAVARK_PLUGINDIR)
	install -m 0755 $(B)/petrel $(B)/petrel-ipam $(DESTDIR)$(CNI_BINDIR)/
	install -m 0755 $(B)/petrel-netavark $(DESTDIR)$(NETAVARK_PLUGINDIR)/petrel
	install -m 0644 contrib/systemd/petrel-bird.service $(DESTDIR)/lib/systemd/system/
	install -m 0755 $(B)/petrel-felix $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(B)/petrelctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 contrib/iproute2/petrel.conf $(DESTDIR)/etc/iproute2/rt_protos.d/petrel.conf
	install -m 0644 contrib/systemd/petrel-felix.service $(DESTDIR)/lib/systemd/system/

clean:
	rm -rf build build-san build-fuzz

.PHONY: all deps check unit demo bench fuzz fuzz-build fuzz-build-quiet fuzz-check install clean
# Keep intermediate objects (no "rm build/…o" after the tests' last line).
.SECONDARY:
-include $(shell find build build-san build-fuzz -name '*.d' 2>/dev/null)
