# mapwarden - build, test, benchmark, demo.
#
#   make          build/libmapwarden.so (the preload library)
#   make test     unit tests (swift test) + integration tests under LD_PRELOAD
#   make bench    the benchmark (ratios against the raw syscall, one run)
#   make demo     a bundled program under the default window
#
# The library is Embedded Swift (Sources/MapwardenLogic + Sources/MapwardenEngine)
# linked with the C interposer (CShim/), built here with swiftc and cc directly
# so that the link is exactly what a preload library needs: a version script
# exporting only the interposed symbols, -z defs, no Swift runtime.

SWIFTC  ?= swiftc
CC      ?= cc
BUILD   := build
OBJ     := $(BUILD)/obj
LIB     := $(BUILD)/libmapwarden.so

LOGIC_SRC  := $(wildcard Sources/MapwardenLogic/*.swift)
ENGINE_SRC := $(wildcard Sources/MapwardenEngine/*.swift)
SHIM_SRC   := $(wildcard CShim/*.c)
SHIM_HDR   := $(wildcard CShim/*.h CShim/include/*.h CShim/include/module.modulemap)

EMBEDDED := -enable-experimental-feature Embedded -wmo -parse-as-library -Osize \
            -Xcc -fPIC -Xfrontend -function-sections -I CShim/include -I $(OBJ)
CFLAGS_SHIM := -std=gnu11 -O2 -fPIC -fvisibility=hidden -fno-plt -Wall -Wextra -Werror \
               -ftls-model=initial-exec -fno-stack-protector

.PHONY: all lib test unit-test integration-test bench demo clean

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
test: unit-test integration-test

unit-test:
	swift test

integration-test: $(LIB)
	Tests/integration/run.sh

# ---- benchmark ---------------------------------------------------------
bench: $(LIB)
	Tests/bench/run.sh

# ---- demo --------------------------------------------------------------
demo: $(LIB)
	@mkdir -p $(BUILD)
	$(CC) -std=gnu11 -O2 -Wall -o $(BUILD)/demo examples/demo.c
	env -u MAPWARDEN_WINDOW LD_PRELOAD=$(CURDIR)/$(LIB) MAPWARDEN_CONFIG=$(CURDIR)/config/default.env $(BUILD)/demo

clean:
	rm -rf $(BUILD)
