# mapwarden - build, test, benchmark, demo.
#
#   make          build/libmapwarden.so (the preload library) and build/mapwarden (the command)
#   make test     unit tests (swift test), the layer check, integration tests under LD_PRELOAD,
#                 the command's tests
#   make ARCH=aarch64       the library for aarch64 (cross: Embedded Swift and aarch64-linux-gnu-gcc),
#                           in build/aarch64/
#   make test-aarch64       that library and the integration tests' C programs, run under qemu-aarch64
#   make layers   the file-level graph of CShim/ and the engine: no cycle, no upward edge
#   make bench    the benchmark (ratios against the raw syscall, one run)
#   make fuzz     differential fuzzing against the kernel (FUZZ_SECONDS=300)
#   make demo     a bundled program under the default window
#   make install  PREFIX=/usr/local DESTDIR=: command, library, header, pkg-config, configs, man page
#   make uninstall, make man, make clean
#
# The library is Embedded Swift (Sources/MapwardenLogic + Sources/MapwardenEngine)
# linked with the C interposer (CShim/), built here with swiftc and cc directly
# so that the link is exactly what a preload library needs: a version script
# exporting only the interposed symbols, -z defs, no Swift runtime.

# The Swift toolchain comes with the machine in /opt/swift.
ifeq ($(shell command -v swiftc),)
export PATH := /opt/swift/usr/bin:$(PATH)
endif
SWIFTC  ?= swiftc
CC      ?= cc
BUILD   := build

# ARCH=aarch64 on an x86-64 machine: a cross build into build/aarch64/.
# Embedded Swift targets bare aarch64 and takes the cross glibc headers
# (libc6-dev-arm64-cross); the C shim and the link use aarch64-linux-gnu-gcc
# (gcc-aarch64-linux-gnu), libunwind.h from libunwind-dev:arm64.
HOST_ARCH := $(shell uname -m)
ARCH      ?= $(HOST_ARCH)
SWIFT_TARGET :=
ifneq ($(ARCH),$(HOST_ARCH))
ifeq ($(ARCH),aarch64)
CROSS_SYSROOT := /usr/aarch64-linux-gnu
SWIFT_TARGET  := -target aarch64-none-none-elf -Xcc -isystem -Xcc $(CROSS_SYSROOT)/include
CC            := aarch64-linux-gnu-gcc
BUILD         := build/aarch64
else
$(error ARCH=$(ARCH): only the machine's own architecture ($(HOST_ARCH)) and aarch64 are built)
endif
endif
OBJ     := $(BUILD)/obj
LIB     := $(BUILD)/libmapwarden.so
CLI     := $(BUILD)/mapwarden

LOGIC_SRC  := $(wildcard Sources/MapwardenLogic/*.swift)
ENGINE_SRC := $(wildcard Sources/MapwardenEngine/*.swift)
SHIM_SRC   := $(wildcard CShim/*.c)
SHIM_HDR   := $(wildcard CShim/*.h CShim/include/*.h CShim/include/platform/*.h CShim/include/module.modulemap)

# _GNU_SOURCE for C and Swift alike: both see the same system headers
# (F_OFD_SETLK, dladdr's Dl_info...).
EMBEDDED := $(SWIFT_TARGET) -enable-experimental-feature Embedded -wmo -parse-as-library -Osize \
            -Xcc -fPIC -Xcc -D_GNU_SOURCE -Xfrontend -function-sections -I CShim/include -I $(OBJ)
CFLAGS_SHIM := -std=gnu11 -D_GNU_SOURCE -O2 -fPIC -fvisibility=hidden -fno-plt -Wall -Wextra -Werror \
               -ftls-model=initial-exec -fno-stack-protector

.PHONY: all lib test unit-test layers integration-test bench demo clean setup-build setup-test setup-aarch64
.DEFAULT_GOAL := all

# The README's two commands do their own set-up: .ci/setup installs the
# Debian packages that are missing when run as root, and otherwise stops at
# once with the exact apt-get command to run (one list, shared with CI).
setup-build:
	@.ci/setup build
setup-test:
	@.ci/setup test
setup-aarch64:
	@.ci/setup aarch64

all: lib
lib: $(LIB)

$(OBJ)/MapwardenLogic.o: $(LOGIC_SRC) | $(OBJ)
	$(SWIFTC) $(EMBEDDED) -module-name MapwardenLogic -emit-module \
	  -emit-module-path $(OBJ)/MapwardenLogic.swiftmodule -c $(LOGIC_SRC) -o $@
	@touch $@ # swiftc keeps an unchanged object's old time

$(OBJ)/MapwardenEngine.o: $(ENGINE_SRC) $(OBJ)/MapwardenLogic.o $(SHIM_HDR) | $(OBJ)
	$(SWIFTC) $(EMBEDDED) -module-name MapwardenEngine -c $(ENGINE_SRC) -o $@
	@touch $@

$(OBJ)/%.o: CShim/%.c $(SHIM_HDR) | $(OBJ)
	$(CC) $(CFLAGS_SHIM) -c $< -o $@

$(LIB): $(OBJ)/MapwardenLogic.o $(OBJ)/MapwardenEngine.o $(SHIM_SRC:CShim/%.c=$(OBJ)/%.o) CShim/exports.map
	$(CC) -shared -o $@ $(filter %.o,$^) -Wl,--version-script=CShim/exports.map \
	  -Wl,-z,defs -Wl,-z,now -Wl,--gc-sections -Wl,-soname,libmapwarden.so -lm

$(OBJ):
	mkdir -p $@

# ---- tests -------------------------------------------------------------
test: setup-test
	$(MAKE) unit-test layers integration-test cli-test

unit-test:
	swift test

# Hooks -> engine -> logic, and the platform below the engine: derived from
# the built objects (nm) and the #include lines (docs/architecture.md).
layers: $(LIB)
	python3 Tests/layers/check.py $(OBJ)

integration-test: $(LIB) $(CLI)
	Tests/integration/run.sh

# ---- aarch64, emulated (qemu-user) --------------------------------------
# The cross-built library, the integration tests' C programs cross-compiled
# (by run.sh) and run under qemu-aarch64 with the library preloaded into the
# guest; then the default window's checks under emulation (Tests/emulated/).
# Pass, fail and skip counts are printed; the skips are listed in
# docs/testing.md.
.PHONY: test-aarch64 lib-aarch64
QEMU_AARCH64 ?= qemu-aarch64
AARCH64_SYSROOT := /usr/aarch64-linux-gnu
lib-aarch64:
	$(MAKE) ARCH=aarch64 lib
test-aarch64: setup-aarch64
	$(MAKE) ARCH=aarch64 lib
	RUNNER="$(QEMU_AARCH64)" QEMU_LD_PREFIX=$(AARCH64_SYSROOT) CC=aarch64-linux-gnu-gcc \
	  LIB=$(CURDIR)/build/aarch64/libmapwarden.so BUILD=$(CURDIR)/build/aarch64/itest Tests/integration/run.sh
	RUNNER="$(QEMU_AARCH64)" QEMU_LD_PREFIX=$(AARCH64_SYSROOT) CC=aarch64-linux-gnu-gcc \
	  LIB=$(CURDIR)/build/aarch64/libmapwarden.so BUILD=$(CURDIR)/build/aarch64/etest Tests/emulated/run.sh

# ---- differential fuzzing against the kernel (longer than make test's 20 s)
FUZZ_SECONDS ?= 300
.PHONY: fuzz
fuzz: $(LIB)
	Tests/fuzz/run.sh $(FUZZ_SECONDS)

# ---- benchmark ---------------------------------------------------------
bench: $(LIB)
	Tests/bench/run.sh

# ---- demo --------------------------------------------------------------
demo: setup-build
	$(MAKE) $(LIB)
	@mkdir -p $(BUILD)
	$(CC) -std=gnu11 -O2 -g -rdynamic -Wall -o $(BUILD)/demo examples/demo.c
	env -u MAPWARDEN_WINDOW LD_PRELOAD=$(CURDIR)/$(LIB) MAPWARDEN_CONFIG=$(CURDIR)/config/default.env $(BUILD)/demo

# ---- the mapwarden command (Sources/MapwardenCLI) ----------------------
# An ordinary Swift executable built by SwiftPM (swift-argument-parser),
# copied next to the library so that `run` finds it there.
SWIFT   ?= swift
SWIFTPM_FLAGS ?=
CLI_SRC := $(wildcard Sources/MapwardenCLI/*.swift)
VERSION := $(shell sed -n 's/.*static let string = "\(.*\)"/\1/p' Sources/MapwardenCLI/Version.swift)

.PHONY: cli cli-test man install uninstall
# (the command runs on the build machine: not cross-built)
ifeq ($(SWIFT_TARGET),)
all: cli
endif
cli: $(CLI)

$(CLI): $(CLI_SRC) $(LOGIC_SRC) Package.swift
	$(SWIFT) build $(SWIFTPM_FLAGS) -c release --product mapwarden
	@mkdir -p $(BUILD)
	cp "$$($(SWIFT) build $(SWIFTPM_FLAGS) -c release --product mapwarden --show-bin-path)/mapwarden" $@

cli-test: $(LIB) $(CLI)
	Tests/cli/run.sh

# The man page, generated from the argument parser's own description of the
# command (swift-argument-parser's generate-manual tool).
MAN := $(BUILD)/man/mapwarden.1
man: $(MAN)
$(MAN): $(CLI)
	$(SWIFT) build $(SWIFTPM_FLAGS) -c release --product generate-manual
	@mkdir -p $(BUILD)/man
	"$$($(SWIFT) build $(SWIFTPM_FLAGS) -c release --product generate-manual --show-bin-path)/generate-manual" $(CLI) \
	  --date "$$(date -u -d @$${SOURCE_DATE_EPOCH:-$$(date +%s)} +%Y-%m-%d)" -o $(BUILD)/man

# ---- install -------------------------------------------------------------
#   make install PREFIX=/usr/local DESTDIR=/tmp/stage; make uninstall (same variables)
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(DESTDIR)$(PREFIX)/bin
LIBDIR  := $(DESTDIR)$(PREFIX)/lib
INCDIR  := $(DESTDIR)$(PREFIX)/include
PCDIR   := $(LIBDIR)/pkgconfig
DATADIR := $(DESTDIR)$(PREFIX)/share/mapwarden
MANDIR  := $(DESTDIR)$(PREFIX)/share/man/man1
CONFIGS := $(notdir $(wildcard config/*.env))

install: $(LIB) $(CLI) $(MAN)
	install -d $(BINDIR) $(LIBDIR) $(INCDIR) $(PCDIR) $(DATADIR) $(MANDIR)
	install -m 755 $(CLI) $(BINDIR)/mapwarden
	install -m 755 $(LIB) $(LIBDIR)/libmapwarden.so
	install -m 644 CShim/include/mapwarden.h $(INCDIR)/mapwarden.h
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: mapwarden' 'Description: Reliable fixed-address memory for unmodified Linux programs (preload library, query API)' \
	  'Version: $(VERSION)' 'Libs: -L$${libdir} -lmapwarden' 'Cflags: -I$${includedir}' > $(PCDIR)/mapwarden.pc
	chmod 644 $(PCDIR)/mapwarden.pc
	install -m 644 $(addprefix config/,$(CONFIGS)) $(DATADIR)/
	install -m 644 $(MAN) $(MANDIR)/mapwarden.1

uninstall:
	rm -f $(BINDIR)/mapwarden $(LIBDIR)/libmapwarden.so $(INCDIR)/mapwarden.h \
	  $(PCDIR)/mapwarden.pc $(addprefix $(DATADIR)/,$(CONFIGS)) $(MANDIR)/mapwarden.1
	-rmdir $(DATADIR) 2>/dev/null || true

clean:
	rm -rf $(BUILD)
