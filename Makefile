# scarce - build, test, bench.   make | make run | make test | make bench | make install | make clean
#   SANITIZE=1  build with -fsanitize=address,undefined (objects in build/san)
#   BLAS=0|1    link OpenBLAS (default: when pkg-config finds it); prefill uses it only with
#               SCARCE_GEMM=blas (our kernels measured faster, kernels/gemm.c); BLAS=0 objects
#               go to build/<cfg>-noblas so the two builds never mix

# `make` = all (the test-emu512 rules below come first in the file)
.DEFAULT_GOAL := all

CC      := gcc
SHARED  ?= ../shared
MODEL   ?= models/stories260K.gguf

CFLAGS  := -std=c11 -O3 -march=native -fopenmp -Wall -Wextra -Wno-unused-parameter \
           -D_GNU_SOURCE -MMD -MP
LDLIBS  := -lm -fopenmp

ifeq ($(SANITIZE),1)
  CFG     := san
  CFLAGS  += -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDLIBS  += -fsanitize=address,undefined
else
  CFG     := release
endif

BLAS ?= $(shell pkg-config --exists openblas 2>/dev/null && echo 1 || echo 0)
ifeq ($(BLAS),1)
  CFLAGS  += -DSCARCE_BLAS $(shell pkg-config --cflags openblas)
  LDLIBS  += $(shell pkg-config --libs openblas)
else
  CFG     := $(CFG)-noblas
endif

ARCH    := $(shell uname -m)
B       := build/$(CFG)

LIB_SRC := $(wildcard engine/*.c quant/*.c kernels/*.c kernels/ref/*.c)
ifeq ($(ARCH),x86_64)
  LIB_SRC += $(wildcard kernels/x86/*.c)
endif
ifeq ($(ARCH),aarch64)
  LIB_SRC += $(wildcard kernels/arm/*.c)
endif
TOOL_SRC := $(wildcard tools/*.c)
TEST_SRC := $(wildcard tests/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
TOOL_OBJ := $(TOOL_SRC:%.c=$(B)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(B)/%.o)

# fuzz: libFuzzer targets tests/fuzz/fuzz_*.c, library rebuilt with clang in build/fuzz
FB          := build/fuzz
FUZZ_CC     ?= clang
FUZZ_CFLAGS := -std=c11 -O1 -g -fno-omit-frame-pointer -march=native -fopenmp -D_GNU_SOURCE \
               -MMD -MP -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_LDLIBS := -fsanitize=fuzzer,address,undefined -fopenmp -lm
FUZZ_BIN    := $(patsubst tests/fuzz/%.c,$(FB)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60

# libscarce.so: the library's objects again, position-independent, in their own folder
PB      := $(B)-pic
PIC_OBJ := $(LIB_SRC:%.c=$(PB)/%.o)

# SIMD files are compiled for their ISA whatever the build machine; cpu.c picks at run time.
# The AVX2 set is held to AVX2 (-mno-avx512f -mno-avxvnni): on an AVX-512 machine -march=native
# would let gcc give it EVEX forms and 32 registers, so SCARCE_ISA=avx2 would not run what an
# AVX2-only core (Zen 1-3) runs.
$(B)/kernels/x86/avx2%.o $(FB)/kernels/x86/avx2%.o $(PB)/kernels/x86/avx2%.o:     XFLAGS := -mavx2 -mfma -mf16c -mno-avx512f -mno-avxvnni
$(B)/kernels/x86/avx512%.o $(FB)/kernels/x86/avx512%.o $(PB)/kernels/x86/avx512%.o: XFLAGS := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16 -mfma -mf16c
# (kernels/arm: plain ARMv8-A; the *_dotprod.c copies enable sdot themselves, picked at run time)
$(B)/kernels/x86/amx%.o $(FB)/kernels/x86/amx%.o $(PB)/kernels/x86/amx%.o:       XFLAGS := -mamx-tile -mamx-int8 -mavx512f -mavx512vbmi -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16 -mfma -mf16c
$(B)/kernels/arm/%.o $(FB)/kernels/arm/%.o $(PB)/kernels/arm/%.o:             XFLAGS := -march=armv8-a
# scarce --version prints the flags this build was compiled with
$(B)/engine/api_setup.o $(PB)/engine/api_setup.o: XFLAGS := -DSCARCE_BUILD_FLAGS='"$(CFLAGS)"'

# test-emu512: the AVX-512 kernel tests on a CPU without AVX-512. kernels/x86/avx512*.c are
# compiled for AVX2 with tests/avx512_emu.h forced in (a scalar model of each AVX-512
# intrinsic they use) and cpu.c with every CPU feature reported present. It checks the
# kernels' logic against the references, not the instructions' hardware behaviour or speed.
EB      := $(B)-emu512
# (avx512_fp8.c, avx512_kquant_gfni.c, avx512_gemm.c use VBMI/BF16/GFNI/512-bit FMA forms the
# header does not model: left out, their formats run the fallbacks installed without them)
EMU_NATIVE_ONLY := kernels/x86/avx512_fp8.c kernels/x86/avx512_kquant_gfni.c kernels/x86/avx512_gemm.c \
                   kernels/x86/avx512_x16_gemm.c kernels/x86/avx512_x16_kquant.c kernels/x86/avx512_x16_q2k.c \
                   kernels/x86/avx512_iq_sb.c kernels/x86/avx512_repack_q4k.c kernels/x86/avx512_ternary.c
EMU_OBJ := $(patsubst %.c,$(EB)/%.o,$(filter-out $(EMU_NATIVE_ONLY),$(wildcard kernels/x86/avx512*.c))) $(EB)/kernels/cpu.o
EMU_LIB := $(filter-out $(B)/kernels/cpu.o $(B)/kernels/x86/avx512% $(B)/kernels/x86/amx%,$(LIB_OBJ)) $(EMU_OBJ)

$(EB)/kernels/x86/avx512%.o: kernels/x86/avx512%.c tests/avx512_emu.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-psabi -mavx2 -mfma -mf16c -include tests/avx512_emu.h -c $< -o $@

$(EB)/kernels/cpu.o: kernels/cpu.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) '-D__builtin_cpu_supports(feature)=1' -DSCARCE_AVX512_EMULATED -c $< -o $@

$(EB)/libscarce.a: $(EMU_LIB)
	@rm -f $@
	ar rcs $@ $^

$(EB)/scarce: $(TOOL_OBJ) $(EB)/libscarce.a
	$(CC) -o $@ $(TOOL_OBJ) $(EB)/libscarce.a $(LDLIBS)

$(EB)/test_runner: $(TEST_OBJ) $(B)/libtools.a $(EB)/libscarce.a
	$(CC) -o $@ $(TEST_OBJ) $(B)/libtools.a $(EB)/libscarce.a $(LDLIBS)

test-emu512: $(EB)/scarce $(EB)/test_runner
	SCARCE_SHARED=$(SHARED) SCARCE_BIN=$(EB)/scarce ./$(EB)/test_runner $(or $(T),avx512 isa_)

# test-arm: the NEON kernels against the scalar references without an ARM machine: library,
# tools and tests cross-compiled with aarch64-linux-gnu-gcc for plain armv8-a (no BLAS) into
# build/arm, the kernel and pool tests run under qemu-aarch64 twice: as a CPU with the int8
# dot product (-cpu max: the sdot kernels run) and as one without (-cpu cortex-a72, as a
# Raspberry Pi 4: the plain NEON ones; an instruction beyond ARMv8.0 there would trap). It
# checks results, not speed. `make test` runs it when both tools are installed (.ci/run installs them:
# gcc-aarch64-linux-gnu, qemu-user), else prints a skip line naming what is missing.
ARM_CC     ?= aarch64-linux-gnu-gcc
ARM_QEMU   ?= qemu-aarch64
ARM_SYSROOT ?= /usr/aarch64-linux-gnu
AB         := build/arm
ARM_CFLAGS := -std=c11 -O2 -march=armv8-a -fopenmp -Wall -Wextra \
              -Wno-unused-parameter -D_GNU_SOURCE -MMD -MP
ARM_LIB    := $(patsubst %.c,$(AB)/%.o,$(wildcard engine/*.c quant/*.c kernels/*.c kernels/ref/*.c kernels/arm/*.c))
ARM_TESTS  := $(patsubst %.c,$(AB)/%.o,$(TEST_SRC) $(filter-out tools/scarce.c,$(TOOL_SRC)))
# (not kernels_simd_tile_equals_reference: it quantizes hundreds of IQ rows, minutes under
# qemu; neon_tiles_equal_row_kernels holds the NEON tiles to their row kernels bit for bit,
# and the kernels_simd_dot / neon_ tests hold the row kernels to the references)
ARM_T_KERNELS := kernels_simd_dot kernels_simd_f32 kernels_simd_from_float kquant_simd neon_
ARM_T      ?= $(ARM_T_KERNELS) pool_computes pool_reports pool_two_pools pool_stops attention_heads
ARM_T_BASE ?= $(ARM_T_KERNELS)
ARM_MISSING := $(strip $(if $(shell command -v $(ARM_CC) 2>/dev/null),,$(ARM_CC)) \
                       $(if $(shell command -v $(ARM_QEMU) 2>/dev/null),,$(ARM_QEMU)))

# gcc 12's aarch64 vectorizer stops with an internal error on two test files; tests need no speed
$(AB)/tests/%.o: ARM_XFLAGS := -fno-tree-vectorize

$(AB)/%.o: %.c
	@mkdir -p $(dir $@)
	$(ARM_CC) $(ARM_CFLAGS) $(ARM_XFLAGS) -c $< -o $@

$(AB)/test_runner: $(ARM_TESTS) $(ARM_LIB)
	$(ARM_CC) -o $@ $^ -lm -fopenmp -lpthread

test-arm: $(AB)/test_runner
	SCARCE_SHARED=$(SHARED) $(ARM_QEMU) -cpu max -L $(ARM_SYSROOT) ./$(AB)/test_runner $(or $(T),$(ARM_T))
	SCARCE_SHARED=$(SHARED) $(ARM_QEMU) -cpu cortex-a72 -L $(ARM_SYSROOT) ./$(AB)/test_runner $(or $(T),$(ARM_T_BASE))

# make test's part: the NEON tests when the cross tools are there, else why not
test-arm-if-present:
ifeq ($(ARM_MISSING),)
	@$(MAKE) --no-print-directory test-arm T=
else
	@echo "skip test-arm: $(ARM_MISSING) not installed (apt-get install gcc-aarch64-linux-gnu qemu-user)"
endif

.PHONY: all lib run test test-emu512 test-arm test-arm-if-present bench fuzz format install clean FORCE

PREFIX ?= /usr/local

all: scarce lib

scarce: $(B)/scarce FORCE
	@cp -f $< $@

# the library for other programs: include/scarce.h, libscarce.a, libscarce.so
lib: libscarce.a libscarce.so

libscarce.a: $(B)/libscarce.a FORCE
	@cp -f $< $@

libscarce.so: $(B)/libscarce.so FORCE
	@cp -f $< $@

$(B)/libscarce.so: $(PIC_OBJ)
	$(CC) -shared -Wl,-soname,libscarce.so -o $@ $^ $(LDLIBS)

$(PB)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC $(XFLAGS) -c $< -o $@

# examples/ on the public header alone: built, and run by tests/test_api.c
$(B)/examples/generate: examples/generate.c include/scarce.h $(B)/libscarce.a
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -Iinclude -o $@ $< $(B)/libscarce.a $(LDLIBS)

$(B)/scarce: $(TOOL_OBJ) $(B)/libscarce.a
	$(CC) -o $@ $(TOOL_OBJ) $(B)/libscarce.a $(LDLIBS)

$(B)/libscarce.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# the tools but their main(), so tests link the tool code they test (svg, textfile...)
$(B)/libtools.a: $(filter-out $(B)/tools/scarce.o,$(TOOL_OBJ))
	@rm -f $@
	ar rcs $@ $^

$(B)/test_runner: $(TEST_OBJ) $(B)/libtools.a $(B)/libscarce.a
	$(CC) -o $@ $(TEST_OBJ) $(B)/libtools.a $(B)/libscarce.a $(LDLIBS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XFLAGS) -c $< -o $@

$(FB)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(XFLAGS) -c $< -o $@

$(FB)/libscarce.a: $(LIB_SRC:%.c=$(FB)/%.o)
	@rm -f $@
	ar rcs $@ $^

$(FB)/fuzz_%: $(FB)/tests/fuzz/fuzz_%.o $(FB)/libscarce.a
	$(FUZZ_CC) -o $@ $^ $(FUZZ_LDLIBS)

.PRECIOUS: $(FB)/%.o

fuzz: scarce $(FUZZ_BIN)
	FUZZ_SECONDS=$(FUZZ_SECONDS) SCARCE_SHARED=$(SHARED) tests/fuzz/run.sh

$(MODEL):
	models/fetch.sh $(notdir $(MODEL))

run: scarce $(MODEL)
	./scarce run -m $(MODEL) -n 200

# the ctypes example loads libscarce.so (not built sanitized: python cannot load ASan)
ifneq ($(SANITIZE),1)
  TEST_SO := libscarce.so
endif
test: scarce $(TEST_SO) $(B)/examples/generate $(B)/test_runner
	@$(if $(T),,$(MAKE) --no-print-directory test-arm-if-present)
	SCARCE_SHARED=$(SHARED) SCARCE_EXAMPLES=$(B)/examples SCARCE_SANITIZED=$(SANITIZE) \
	    ./$(B)/test_runner $(T)

bench: scarce
	tools/bench.sh

install: scarce lib
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 scarce $(DESTDIR)$(PREFIX)/bin/scarce
	install -m 644 include/scarce.h $(DESTDIR)$(PREFIX)/include/scarce.h
	install -m 644 libscarce.a $(DESTDIR)$(PREFIX)/lib/libscarce.a
	install -m 755 libscarce.so $(DESTDIR)$(PREFIX)/lib/libscarce.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBS@|$(LDLIBS)|' tools/scarce.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/scarce.pc

format:
	clang-format -i $(wildcard */*.c */*.h */*/*.c */*/*.h)

clean:
	rm -rf build scarce libscarce.a libscarce.so

-include $(LIB_OBJ:.o=.d) $(PIC_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(wildcard $(AB)/*/*.d $(AB)/*/*/*.d) $(wildcard $(FB)/*/*.d $(FB)/*/*/*.d) $(EMU_OBJ:.o=.d)
