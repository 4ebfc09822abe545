# mod_acme_pay: root Makefile.
#   make            build the module, the core library, acme-pay-admin and the unit tests
#   make run        install packages, build, start Apache on loopback (see README)
#   make test       everything CI runs; ends with "N passed, N failed"
#   make bench      the benchmark (not part of make test)
#   make fuzz       the libFuzzer targets, 10^6 executions each (build/fuzz.mk)
# Build output goes to out/ (out/asan/ for the sanitizer build).

APXS     ?= apxs
CC       ?= gcc
O        ?= out
SAN      ?=
PKGS      = json-c libqrencode libcurl libcares openssl
# The configuration tools (apr-1-config, apu-1-config, apxs, pkg-config) come from the
# packages `make deps` installs, so they are asked lazily: on first use inside a recipe, once
# per make process (never while the Makefile is read). `run`, `test` and `bench` install the
# packages first and build in a second make process.
lazy = $(eval $(1) := $(shell $(2)))$($(1))
APR_INC   = $(call lazy,APR_INC,apr-1-config --cppflags --includes; apu-1-config --includes)
APR_LIB   = $(call lazy,APR_LIB,apr-1-config --link-ld; apu-1-config --link-ld)
HTTPD_INC = -I$(call lazy,HTTPD_DIR,$(APXS) -q INCLUDEDIR)
PKG_INC   = $(call lazy,PKG_INC,pkg-config --cflags $(PKGS))
PKG_LIB   = $(call lazy,PKG_LIB,pkg-config --libs $(PKGS))
# DEPS_CMD/RUN_CMD/TEST_CMD: what deps/run/test execute (tests/fresh-machine.sh swaps them)
DEPS_CMD ?= sh build/install-deps.sh
RUN_CMD  ?= sh build/run.sh
TEST_CMD ?= sh tests/run.sh

WARN      = -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2
CFLAGS   ?= -O2 -g
ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(SAN) $(WARN) -std=gnu11 -fPIC -pthread $(APR_INC) $(PKG_INC) \
             -Imodules/core -I$(O)/gen
LDLIBS    = $(APR_LIB) $(PKG_LIB) -lpthread

CORE_SRC := $(sort $(wildcard modules/core/*.c))
CORE_OBJ := $(patsubst modules/core/%.c,$(O)/core/%.o,$(CORE_SRC)) $(O)/core/acp_schema_gen.o
HTTPD_SRC:= mod_acme_pay.c $(sort $(wildcard modules/httpd/*.c))
HTTPD_OBJ:= $(patsubst %.c,$(O)/httpd/%.o,$(notdir $(HTTPD_SRC)))
ADMIN_SRC:= $(sort $(wildcard admin-tui/*.c))
ADMIN_OBJ:= $(patsubst admin-tui/%.c,$(O)/admin/%.o,$(ADMIN_SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(O)/unit/%,$(UNIT_SRC))
SQL_FILES:= $(sort $(wildcard conf/sql/*/*.sql))

.PHONY: all module lib admin unit man docs install deb deps test run stop bench clean format check-style
all: module admin unit man $(O)/stmt-nargs

lib: $(O)/libacp.a
module: $(O)/mod_acme_pay.so
unit: $(UNIT_BIN)

# man pages from docs/reference.md (the README's reference tables come from it too: make docs)
MAN_PAGES := $(O)/man/mod_acme_pay.5 $(O)/man/acme-pay-admin.8
man: $(MAN_PAGES)
# one run writes both (a grouped target: with two plain targets, make -j ran it twice at
# once and one run renamed the other's temporary file away)
$(MAN_PAGES) &: docs/reference.md build/gen-docs.py
	python3 build/gen-docs.py man $(O)/man
docs:
	python3 build/gen-docs.py readme

$(O)/gen/acp_schema_gen.c: build/embed-sql.sh $(SQL_FILES)
	@mkdir -p $(dir $@)
	sh build/embed-sql.sh conf/sql > $@.tmp && mv $@.tmp $@

$(O)/core/acp_schema_gen.o: $(O)/gen/acp_schema_gen.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/core/%.o: modules/core/%.c $(wildcard modules/core/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/libacp.a: $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(O)/httpd/%.o: %.c $(wildcard modules/core/*.h modules/httpd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HTTPD_INC) -Imodules/httpd -c -o $@ $<
$(O)/httpd/%.o: modules/httpd/%.c $(wildcard modules/core/*.h modules/httpd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HTTPD_INC) -Imodules/httpd -c -o $@ $<

# The module: core library linked in statically; APR/APR-util come from httpd itself.
$(O)/mod_acme_pay.so: $(HTTPD_OBJ) $(O)/libacp.a
	$(CC) -shared $(SAN) $(LDFLAGS) -o $@ $(HTTPD_OBJ) $(O)/libacp.a $(PKG_LIB) -lpthread

$(O)/admin/%.o: admin-tui/%.c $(wildcard modules/core/*.h admin-tui/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iadmin-tui -c -o $@ $<

admin: $(if $(ADMIN_SRC),$(O)/acme-pay-admin)
$(O)/acme-pay-admin: $(ADMIN_OBJ) $(O)/libacp.a
	$(CC) $(SAN) $(LDFLAGS) -o $@ $(ADMIN_OBJ) $(O)/libacp.a $(LDLIBS) -lncursesw

$(O)/unit/%: tests/unit/%.c tests/unit/acp_test.h $(O)/libacp.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(O)/libacp.a $(LDLIBS)

# every catalogue statement's argument count, for build/check-stmt-args.py (check-style)
$(O)/stmt-nargs: build/stmt-nargs.c $(O)/libacp.a
	$(CC) $(ALL_CFLAGS) -o $@ $< $(O)/libacp.a $(LDLIBS)

# the WeChat unit test shares its RSA test key with the fuzz harnesses
$(O)/unit/test_wechat: tests/fuzz/fuzz_keys.h
# unit tests split in two programs share their helpers in a header
$(O)/unit/test_ca $(O)/unit/test_csr: tests/unit/acp_test_csr.h tests/unit/acp_test_key.h
$(O)/unit/test_jws $(O)/unit/test_jwk: tests/unit/acp_test_jwk.h tests/unit/acp_test_key.h
$(O)/unit/test_va: tests/unit/acp_test_cts.h

# make install: any distribution with apxs (module into apxs' LIBEXECDIR; no LoadModule
# line is added: see README "Installing"). DESTDIR stages it; PREFIX for the admin tool.
PREFIX ?= /usr/local
install: module admin man
	mkdir -p "$(DESTDIR)$$($(APXS) -q LIBEXECDIR)"
	$(APXS) -S LIBEXECDIR="$(DESTDIR)$$($(APXS) -q LIBEXECDIR)" -i -n acme_pay $(O)/mod_acme_pay.so
	install -D -m 0755 $(O)/acme-pay-admin $(DESTDIR)$(PREFIX)/sbin/acme-pay-admin
	install -D -m 0644 $(O)/man/acme-pay-admin.8 $(DESTDIR)$(PREFIX)/share/man/man8/acme-pay-admin.8
	install -D -m 0644 $(O)/man/mod_acme_pay.5 $(DESTDIR)$(PREFIX)/share/man/man5/mod_acme_pay.5
	install -D -m 0644 conf/acme-pay.conf $(DESTDIR)$(PREFIX)/share/doc/mod_acme_pay/acme-pay.conf

# make deb: the Debian packages (debian/), built from a copy of the tree in $(O)/deb/src so
# the .deb files land in $(O)/deb/; then lintian (each remaining tag: an override with its reason)
deb:
	rm -rf $(O)/deb && mkdir -p $(O)/deb/src
	tar --exclude=./out --exclude=./run --exclude=./.git -cf - . | tar -C $(O)/deb/src -xf -
	cd $(O)/deb/src && dpkg-buildpackage -us -uc -b -j2
	lintian --fail-on error,warning \
		$(O)/deb/*.changes

deps:
	$(DEPS_CMD)

test:
	$(MAKE) deps
	$(TEST_CMD)

run:
	$(MAKE) deps
	$(MAKE) all
	$(RUN_CMD)

stop:
	sh build/run.sh stop

bench:
	$(MAKE) deps
	$(MAKE) all
	sh tests/bench/run.sh

format:
	clang-format -i $(CORE_SRC) $(wildcard modules/core/*.h) $(HTTPD_SRC) $(ADMIN_SRC) $(UNIT_SRC)

check-style:
	sh build/check-style.sh

clean:
	rm -rf $(O)

include build/fuzz.mk
