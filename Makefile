# fashionrec — PGXS build.  `make test` and `make demo` are the two commands a
# user needs; see README.md.

EXTENSION   = fashionrec
EXTVERSION  = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big  = $(EXTENSION)
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The install script is assembled from one fragment per concept (src/sql/NN_*.sql).
SQL_PARTS   = $(sort $(wildcard src/sql/*.sql))
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql
DATA        = $(filter-out $(DATA_built),$(wildcard $(EXTENSION)--*--*.sql))

REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

BLAS_CFLAGS := $(shell pkg-config --cflags openblas lapacke 2>/dev/null)
BLAS_LIBS   := $(shell pkg-config --libs openblas lapacke 2>/dev/null || echo -lopenblas -llapacke)
# image decoding (src/image.c): libpng and libjpeg-turbo
IMAGE_CFLAGS := $(shell pkg-config --cflags libpng 2>/dev/null)
IMAGE_LIBS  := $(shell pkg-config --libs libpng 2>/dev/null || echo -lpng) -ljpeg

PG_CPPFLAGS = -Isrc $(BLAS_CFLAGS) $(IMAGE_CFLAGS) -DFR_VERSION=\"$(EXTVERSION)\"
# featurefm trains on POSIX threads (src/featurefm.c)
PG_CFLAGS   = -pthread -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare $(FR_WERROR)
SHLIB_LINK  = $(BLAS_LIBS) $(IMAGE_LIBS) -lm -pthread

EXTRA_CLEAN = $(DATA_built) results regression.diffs regression.out test/unit/*.t test/unit/*.o

# No LLVM bitcode: JIT inlining of these functions gains nothing, and it
# halves the build time.
override with_llvm = no

PG_CONFIG ?= $(shell command -v pg_config 2>/dev/null || echo /usr/lib/postgresql/15/bin/pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track headers; a changed struct must rebuild every object
$(OBJS): $(wildcard src/*.h)
# FR_VERSION (-D above) is the control file's version
src/fashionrec.o src/artifact.o: $(EXTENSION).control

$(DATA_built): $(SQL_PARTS) $(EXTENSION).control
	@{ echo '-- fashionrec $(EXTVERSION): generated from src/sql/*.sql by make; edit those.'; \
	   printf '%s\n' '\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \quit'; \
	   for f in $(SQL_PARTS); do echo; echo "-- ---- $$f"; cat $$f; done; } > $@

# ---- kernel unit tests: the PostgreSQL-free kernels, run with prove -----------
# Kernels are the sources that include no PostgreSQL header (directly or via model.h/fashionrec.h).
KERNEL_SRCS = $(shell grep -L -E '#include "(postgres|model|fashionrec)\.h"' src/*.c)
UNIT_TESTS  = $(patsubst %.c,%.t,$(wildcard test/unit/test_*.c))

test/unit/%.t: test/unit/%.c test/unit/kernel_stub.c $(KERNEL_SRCS) $(wildcard src/*.h)
	$(CC) -O2 -g -pthread -Wall -Wextra -Wno-unused-parameter -Isrc -Itest/unit $(BLAS_CFLAGS) $(IMAGE_CFLAGS) \
	    $(FR_SANITIZE) -o $@ $< test/unit/kernel_stub.c $(KERNEL_SRCS) $(BLAS_LIBS) $(IMAGE_LIBS) -lm

unit: $(UNIT_TESTS)
	prove -v $(UNIT_TESTS) 2>&1 | tail -n 40

test: ; @bash test/run-tests.sh
demo: ; @bash test/demo.sh
demo-stop: ; @bash test/demo.sh stop
reference: ; @bash test/gen-reference.sh

.PHONY: unit test demo demo-stop reference
