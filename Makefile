# elsa: one Makefile for the whole toolkit.
#   make            build every tool into $(O)/
#   make check      install missing packages, build, run every test (SAN=1: with ASan + UBSan)
#   make demo       install missing packages, build, run the built-in study
#   make bench      speed and memory against PyTorch and Hugging Face tokenizers
#   make fuzz       run every fuzz target for FUZZ_SECONDS (needs clang)
#   make install    binaries and man pages into $(DESTDIR)$(PREFIX)

VERSION   = 0.1.0
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man

ifdef SAN
O        ?= build-san
SANFLAGS  = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
O        ?= build
endif

PKGS      = libzstd yaml-0.1 libutf8proc sleef
CFLAGS   ?= -O2 -g
XCFLAGS   = -std=c11 -D_GNU_SOURCE -Wall -Wextra -fopenmp -Ilib -DELSA_VERSION='"$(VERSION)"' \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(SANFLAGS) -MMD -MP
LDLIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lblis -lm
XLDFLAGS  = -fopenmp $(SANFLAGS) $(LDFLAGS)

ALLTOOLS  = tokenize embed encode train evaluate report view sweep export
TOOLS     = $(foreach t,$(ALLTOOLS),$(if $(wildcard $(t)/*.c),$(t)))
BINS      = $(TOOLS:%=$(O)/elsa-%)
LIB_OBJ   = $(patsubst %.c,$(O)/%.o,$(wildcard lib/*.c))
UNIT      = $(patsubst tests/unit/%.c,$(O)/tests/%,$(wildcard tests/unit/*.c))
DEVTOOLS  = tests/mkmodel tests/mkdata bench/gemmpeak bench/fmapeak
TESTBIN   = $(addprefix $(O)/,$(notdir $(DEVTOOLS)))
MAN       = $(wildcard man/man1/*.1 man/man5/*.5 man/man7/*.7)

all: $(BINS) $(TESTBIN)

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

include lib/flags.mk
$(eval $(call isa_flags,$(O),XCFLAGS))
$(O)/lib/simd_base.o: XCFLAGS += -Wno-psabi

$(O)/libelsa.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# Each tool is every .c file in its folder, linked with the library.
define tool
$(O)/elsa-$(1): $(patsubst %.c,$(O)/%.o,$(wildcard $(1)/*.c)) $(O)/libelsa.a
	$$(CC) $$(XLDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool,$(t))))

# Development tools (tests/NAME.c, bench/NAME.c): model and data generators for tests, the demo
# and the benchmarks, and the GEMM peak; built beside the tools, never installed.
define devtool
$(O)/$(notdir $(1)): $(O)/$(1).o $(O)/libelsa.a
	$$(CC) $$(XLDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(DEVTOOLS),$(eval $(call devtool,$(t))))

$(O)/tests/%: $(O)/tests/unit/%.o $(O)/libelsa.a
	$(CC) $(XLDFLAGS) -o $@ $^ $(LDLIBS)

tests: all $(UNIT)

deps:
	@scripts/deps

check: deps
	@$(MAKE) --no-print-directory tests
	@O=$(O) tests/run

demo: deps
	@$(MAKE) --no-print-directory all
	@O=$(O) scripts/demo

bench: deps
	@scripts/deps --bench
	@$(MAKE) --no-print-directory all
	@O=$(O) bench/run

fuzz: deps
	@$(MAKE) --no-print-directory -f tests/fuzz/Makefile FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60)

install: $(BINS)
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	cp -f $(BINS) $(DESTDIR)$(BINDIR)/
	for m in $(MAN); do cp -f $$m $(DESTDIR)$(MANDIR)/$$(basename $$(dirname $$m))/; done

uninstall:
	rm -f $(ALLTOOLS:%=$(DESTDIR)$(BINDIR)/elsa-%)
	for m in $(MAN); do rm -f $(DESTDIR)$(MANDIR)/$$(basename $$(dirname $$m))/$$(basename $$m); done

clean:
	rm -rf build build-san build-fuzz

.PHONY: all tests deps check demo bench fuzz install uninstall clean
.SECONDARY:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
