#!/bin/sh
# Tree rules that a compiler does not check; part of make test.
#  1. modules/core stays Apache-free.
#  2. No banned C functions (curl's habit): sprintf, strcpy, strcat, strtok, gets, …
#  3. Every AcmePay* directive in the command table (modules/httpd/acp_httpd_directives.c)
#     is documented in conf/acme-pay.conf and in README.md.
#  4. No SQL outside the storage authority (acp_sa*.c) and conf/sql.
#  5. README.md's reference tables are what docs/reference.md says (build/gen-docs.py).
#  6. Every call of a catalogue statement by name gives the arguments it takes
#     (build/check-stmt-args.py with the counts out/stmt-nargs prints).
set -u
cd "$(dirname "$0")/.."
fail=0
hits=$(grep -lE '#include[[:space:]]*[<"](httpd|http_[a-z_]+|ap_[a-z_]+|mod_[a-z_]+|util_[a-z_]+)\.h' modules/core/*.[ch] 2>/dev/null)
if [ -n "$hits" ]; then echo "check-style: httpd headers in modules/core: $hits"; fail=1; fi
banned=$(grep -nE '(^|[^_a-z])(sprintf|vsprintf|strcpy|strcat|strtok|gets|strncpy|atoi)[[:space:]]*\(' \
    mod_acme_pay.c modules/*/*.c admin-tui/*.c 2>/dev/null | grep -v 'apr_' )
if [ -n "$banned" ]; then echo "check-style: banned functions:"; echo "$banned"; fail=1; fi
for d in $(grep -oE '"AcmePay[A-Za-z0-9]+"' modules/httpd/acp_httpd_directives.c | tr -d '"' | sort -u); do
    grep -q "^[#[:space:]]*$d\b" conf/acme-pay.conf 2>/dev/null || { echo "check-style: $d not in conf/acme-pay.conf"; fail=1; }
    grep -q "$d" README.md 2>/dev/null || { echo "check-style: $d not in README.md"; fail=1; }
done
sql=$(grep -nE '"(SELECT|INSERT|UPDATE|DELETE) ' modules/core/*.c admin-tui/*.c mod_acme_pay.c modules/httpd/*.c 2>/dev/null | grep -vE '^modules/core/acp_sa[a-z_]*\.c:')
if [ -n "$sql" ]; then echo "check-style: SQL outside acp_sa*.c:"; echo "$sql"; fail=1; fi
python3 build/gen-docs.py check || fail=1
if make -s out/stmt-nargs >/dev/null && out/stmt-nargs > out/stmt-nargs.txt; then
    python3 build/check-stmt-args.py out/stmt-nargs.txt || fail=1
else
    echo "check-style: out/stmt-nargs could not be built"; fail=1
fi
if [ $fail = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
