#!/bin/sh
# The abuse limits' cost per request (tests/bench/limits.c): builds out/bench/limits over
# the core library (make lib) and runs it. ACP_BENCH_ACCOUNTS (default 100000) sizes the seed.
set -eu
cd "$(dirname "$0")/../.."
make -s lib
mkdir -p out/bench
cc -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -std=gnu11 -pthread \
    $(apr-1-config --cppflags --includes) $(apu-1-config --includes) \
    $(pkg-config --cflags json-c openssl) -Imodules/core -o out/bench/limits \
    tests/bench/limits.c out/libacp.a $(apr-1-config --link-ld) $(apu-1-config --link-ld) \
    $(pkg-config --libs json-c libqrencode libcurl libcares openssl) -lpthread
exec out/bench/limits
