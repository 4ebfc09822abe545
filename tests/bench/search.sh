#!/bin/bash
# search.sh [N] [sqlite|pgsql|both] -- how fast staff find things on a big database:
# N certificates (default 1,000,000) seeded as tests/bench/seed.sh does (one holder and
# account per 4 certificates, a contact e-mail per account), plus N/10 invoices and N/10
# payments, on SQLite (FTS5 trigram and word tables) and on a private PostgreSQL 15
# cluster (pg_trgm and word GIN indexes). Each query runs 5 times through `acme-pay-admin
# find --timing`, which runs the find twice in one process: "first ms" is the median wall
# time of the first find (it prepares its statements on the connection, as a command
# line does), "med ms" that of the second (as the console's later searches, on prepared
# statements; the process start and the connection are in neither), then the tool's CPU
# time in the second (all of SQLite's work; PostgreSQL works in its server) and the wall
# time of the whole command; on PostgreSQL also the server's own time for the second
# find's statements (its log's durations). The machine's load average is printed first: on a shared machine the
# wall times wait for a CPU.
# Uses ACME_PORT_OFFSET like the tests (PostgreSQL on 15432 + offset). SEARCH_PG_MEMORY=6GB
# gives PostgreSQL that much shared_buffers after seeding (default: PostgreSQL's 128 MB). SEARCH_AFTER=FILE
# runs `sh FILE` with PRM (the seeded database's connection parameters) and PGLOG (its
# server log) before the
# PostgreSQL cluster is removed.
set -u
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-1000000}
WHICH=${2:-both}
ADMIN=${ADMIN:-$REPO/out/acme-pay-admin}
W=$(mktemp -d /tmp/acp-search.XXXXXX)
chmod 755 "$W"
at_exit "rm -rf '$W'"

# the queries: what a customer pastes or says (i's that exist at any N >= 1000)
q_i=$((N * 3 / 4 / 4 * 4)) # an account's index (multiple of 4)
c_i=$((N * 7 / 9))
serial=$(printf '5e%06x%08x%08x%08x' $(((c_i * 2246822519 >> 8) % 16777216)) \
    $(((c_i * 2654435761) % 4294967296)) $(((c_i * 3266489917 >> 8) % 4294967296)) \
    $(((c_i * 668265263 >> 8) % 4294967296))) # as seed.sh makes it
colons=$(sed 's/../&:/g; s/:$//' <<<"${serial^^}")
dec=$(python3 -c "print(int('$serial', 16))")
queries=(
    "e-mail|$(printf 'ops-%09d@shop.example' "$q_i")"
    "invoice id|$(printf 'iv%08x' $((N / 10 / 3)))"
    "payment reference|$(printf 'BANK-%07d' $((N / 10 / 2)))"
    "serial, colons|$colons"
    "serial, decimal|$dec"
    "serial, fragment|${serial:20:8}"
    "name, complete|$(printf 'seed-%09d.bench.test' "$c_i")"
    "name, part|$(printf 'seed-%09d' "$c_i")"
    "name, word start|$(printf 'seed-%07d' $((c_i / 100)))"
    "name, cut start|$(printf 'eed-%09d' "$c_i")"
    "name, inside word|$(printf '%09d' "$c_i" | cut -c3-)"
    "inside, --complete|$(printf '%09d' "$c_i" | cut -c3-)|--complete"
    "address, domain|shop.example"
    "holder id|$(printf 'sb%09d' "$q_i")"
    "broad: every name|bench.test"
)

measure() { # DRIVER PARAMS
    local drv=$1 prm=$2 q label text flags i med min cpu wall srv off
    log "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
    printf '%-18s %-42s %9s %9s %9s %9s %9s %7s %s\n' "query ($drv)" "text" "med ms" "first ms" \
        "cpu ms" "server ms" "cmd ms" "matches" "path (partial: kinds stopped at the budget)"
    for q in "${queries[@]}"; do
        IFS='|' read -r label text flags <<< "$q"
        : > "$W/ms"; : > "$W/first"; : > "$W/cpu"; : > "$W/wall"; : > "$W/srv"
        off=$(stat -c %s "${PGLOG:-/dev/null}")
        for i in 1 2 3 4 5; do
            local t0 t1
            t0=$(date +%s%N)
            # shellcheck disable=SC2086 # flags: none or one word
            "$ADMIN" --driver "$drv" --params "$prm" --json find "$text" --timing $flags \
                > "$W/out.json" 2> "$W/err" || true
            t1=$(date +%s%N)
            sed -n 's/^find: \([0-9.]*\) ms wall.*/\1/p' "$W/err" >> "$W/ms"
            sed -n 's/^find: first \([0-9.]*\) ms wall.*/\1/p' "$W/err" >> "$W/first"
            if [ -n "${PGLOG:-}" ]; then
                # the server's own time for the second run's statements
                # (log_min_duration_statement; both runs run the same statements)
                tail -c +$((off + 1)) "$PGLOG" |
                    sed -n 's/.*duration: \([0-9.]*\) ms  execute adm_\(find\|exact\).*/\1/p' |
                    awk '{ d[NR] = $1 } END { for (i = int(NR / 2) + 1; i <= NR; i++) s += d[i]; printf "%.2f\n", s }' >> "$W/srv"
                off=$(stat -c %s "$PGLOG")
            fi
            sed -n 's/^find: [0-9].* \([0-9.]*\) ms cpu$/\1/p' "$W/err" >> "$W/cpu"
            echo $(((t1 - t0) / 1000000)) >> "$W/wall"
        done
        med=$(sort -n "$W/ms" | sed -n 3p)
        first=$(sort -n "$W/first" | sed -n 3p)
        cpu=$(sort -n "$W/cpu" | sed -n 3p)
        srv=$(sort -n "$W/srv" | sed -n 3p)
        wall=$(sort -n "$W/wall" | sed -n 3p)
        printf '%-18s %-42s %9s %9s %9s %9s %9s %7s %s\n' "$label" "${text:0:42}" "${med:-error}" \
            "$first" "$cpu" "${srv:--}" "$wall" "$(jq '.results | length' "$W/out.json" 2>/dev/null)" \
            "$(jq -r '(.step // (if .exact then "exact" else "any part" end)) +
                (if (.partial // []) | length > 0 then " partial: " + (.partial | join(",")) else "" end)' \
                "$W/out.json" 2>/dev/null)"
    done
}

# the lists' search (certs list --search, one page of 100): a text every row holds, one a
# few rows hold, a fragment of one common trigram; wall ms of the second run (the first
# prepares), medians of 5, and which way the search ran (index, scan, stopped)
list_queries=(
    "certs, every row|bench.test"
    "certs, one name|$(printf 'seed-%09d' "$c_i")"
    "certs, serial part|${serial:20:8}"
    "certs, inside word|$(printf '%09d' "$c_i" | cut -c3-)"
    "certs, --complete|$(printf '%09d' "$c_i" | cut -c3-)|--complete"
)
measure_lists() { # DRIVER PARAMS
    local drv=$1 prm=$2 q label text flags i med
    printf '%-18s %-42s %9s %7s %s\n' "list ($drv)" "text" "med ms" "rows" "search"
    for q in "${list_queries[@]}"; do
        IFS='|' read -r label text flags <<< "$q"
        : > "$W/ms"
        for i in 1 2 3 4 5; do
            # shellcheck disable=SC2086 # flags: none or one word
            "$ADMIN" --driver "$drv" --params "$prm" --json certs list --search "$text" \
                --timing $flags > "$W/out.json" 2> "$W/err" || true
            sed -n 's/^list: \([0-9.]*\) ms wall.*/\1/p' "$W/err" >> "$W/ms"
        done
        med=$(sort -n "$W/ms" | sed -n 3p)
        printf '%-18s %-42s %9s %7s %s\n' "$label" "${text:0:42}" "${med:-error}" \
            "$(jq 'length' "$W/out.json" 2>/dev/null)" \
            "$(sed -n 's/^list: [0-9.]* ms wall, search \(.*\)/\1/p' "$W/err" | tail -n 1)"
    done
}

# invoices and payments on top of seed.sh's rows (SQLite dialect; PostgreSQL below)
extra_sqlite() {
    sqlite3 -batch "$1" <<SQL
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $N / 10)
INSERT INTO invoices (id, billing_id, order_id, amount, paid, currency, status, pay_url, eth_wei,
                      created, expires)
SELECT printf('iv%08x', i), printf('sb%09d', i * 4), printf('so%09d', i * 4), 1000, 1000, 'CNY',
       'paid', NULL, NULL, strftime('%s', 'now') - i, strftime('%s', 'now') - i + 604800 FROM s;
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $N / 10)
INSERT INTO payments (reference, invoice_id, amount, currency, source, created)
SELECT printf('BANK-%07d', i), printf('iv%08x', i), 1000, 'CNY', 'bench',
       strftime('%s', 'now') - i FROM s;
COMMIT;
SQL
}

if [ "$WHICH" != pgsql ]; then
    db=$W/search.db
    "$ADMIN" --driver sqlite3 --params "$db" migrate > /dev/null || die "migrate"
    t0=$SECONDS
    sh "$REPO/tests/bench/seed.sh" "$db" 0 "$N" > /dev/null || die "seed"
    extra_sqlite "$db" || die "invoices"
    log "SQLite: seeded $N certificates in $((SECONDS - t0)) s; $(du -m "$db" | cut -f1) MB"
    measure sqlite3 "$db"
    measure_lists sqlite3 "$db"
fi

if [ "$WHICH" != sqlite ]; then
    mkdir -p "$W/pg"
    at_exit "pg_cluster_stop '$W/pg'"
    pg_cluster_start "$W/pg" > /dev/null || die "PostgreSQL"
    prm=$(pg_new_db acp_search) || die "database"
    "$ADMIN" --driver pgsql --params "$prm" migrate > /dev/null || die "migrate"
    t0=$SECONDS
    now=$(date +%s)
    # In bulk, as an upgrade's migration 028 fills the search tables: the records first with
    # the search triggers off and the search tables' GIN and time indexes dropped, then the
    # migration's own copy statements, then the indexes built again from their definitions
    # (row by row through the triggers, 1,000,000 took 628 s against 146 s).
    mig=$(ls "$REPO"/conf/sql/pgsql/028_*.sql) || die "migration 028"
    psql -X -tA "$prm" -v ON_ERROR_STOP=1 -c "SELECT indexname || '|' || indexdef || ';' FROM pg_indexes
        WHERE tablename LIKE 'search\_%' AND indexname NOT LIKE '%\_pkey'" > "$W/sidx" || die "indexes"
    [ "$(wc -l < "$W/sidx")" -ge 21 ] || die "search indexes: $(wc -l < "$W/sidx")"
    psql -X -q "$prm" -v ON_ERROR_STOP=1 <<SQL || die "seed (PostgreSQL)"
SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
$(for t in billing accounts orders invoices certificates payments; do
    echo "ALTER TABLE $t DISABLE TRIGGER USER;"
done)
$(cut -d'|' -f1 "$W/sidx" | sed 's/.*/DROP INDEX &;/')
BEGIN;
INSERT INTO billing (id, kind, label, balance, created)
SELECT format('sb%s', lpad(i::text, 9, '0')), 'account', NULL, 0, $now - (i % 2160000)
FROM generate_series(0, $N - 1, 4) i;
INSERT INTO accounts (id, thumbprint, jwk, status, contacts, tos_agreed, eab_kid, billing_id, created)
SELECT format('sa%s', lpad(i::text, 9, '0')), format('st%s', lpad(i::text, 41, '0')), '{}', 'valid',
       format('["mailto:ops-%s@shop.example"]', lpad(i::text, 9, '0')), 1, NULL,
       format('sb%s', lpad(i::text, 9, '0')), $now - (i % 2160000)
FROM generate_series(0, $N - 1, 4) i;
INSERT INTO orders (id, account_id, status, expires, identifiers, names_key, not_before, not_after,
                    error, csr, cert_id, price, created, updated, charged, reissue_of)
SELECT format('so%s', lpad(i::text, 9, '0')), format('sa%s', lpad((i / 4 * 4)::text, 9, '0')),
       'valid', $now - (i % 2160000) + 604800,
       format('[{"type":"dns","value":"seed-%s.bench.test"}]', lpad(i::text, 9, '0')),
       format('seed-%s.bench.test', lpad(i::text, 9, '0')), NULL, NULL, NULL, repeat('0', 400),
       format('sc%s', lpad(i::text, 9, '0')), 0, $now - (i % 2160000), $now - (i % 2160000), 0, NULL
FROM generate_series(0, $N - 1) i;
INSERT INTO certificates (id, serial, order_id, account_id, billing_id, names_key, pem, not_before,
                          not_after, issued, revoked, revoked_reason)
SELECT format('sc%s', lpad(i::text, 9, '0')), '5e' || lpad(to_hex(((i::bigint * 2246822519) >> 8) % 16777216), 6, '0')
       || lpad(to_hex((i::bigint * 2654435761) % 4294967296), 8, '0')
       || lpad(to_hex(((i::bigint * 3266489917) >> 8) % 4294967296), 8, '0')
       || lpad(to_hex(((i::bigint * 668265263) >> 8) % 4294967296), 8, '0'),
       format('so%s', lpad(i::text, 9, '0')), format('sa%s', lpad((i / 4 * 4)::text, 9, '0')),
       format('sb%s', lpad((i / 4 * 4)::text, 9, '0')), format('seed-%s.bench.test', lpad(i::text, 9, '0')),
       '-----BEGIN CERTIFICATE-----' || chr(10) || md5(i::text) || repeat('0', 1368) || chr(10) || '-----END CERTIFICATE-----' || chr(10),
       $now - (i % 2160000), $now - (i % 2160000) + 7776000, $now - (i % 2160000), NULL, NULL
FROM generate_series(0, $N - 1) i;
INSERT INTO invoices (id, billing_id, order_id, amount, paid, currency, status, pay_url, eth_wei,
                      created, expires)
SELECT 'iv' || lpad(to_hex(i), 8, '0'), format('sb%s', lpad((i * 4)::text, 9, '0')),
       format('so%s', lpad((i * 4)::text, 9, '0')), 1000, 1000, 'CNY', 'paid', NULL, NULL,
       $now - i, $now - i + 604800
FROM generate_series(0, $N / 10 - 1) i;
INSERT INTO payments (reference, invoice_id, amount, currency, source, created)
SELECT 'BANK-' || lpad(i::text, 7, '0'), 'iv' || lpad(to_hex(i), 8, '0'), 1000, 'CNY', 'bench', $now - i
FROM generate_series(0, $N / 10 - 1) i;
COMMIT;
$(sed -n '/^INSERT INTO search_/{/ WHERE /!p}' "$mig")
$(cut -d'|' -f2- "$W/sidx")
$(for t in billing accounts orders invoices certificates payments; do
    echo "ALTER TABLE $t ENABLE TRIGGER USER;"
done)
VACUUM ANALYZE billing, accounts, orders, certificates, invoices, payments, search_holder,
    search_account, search_order, search_invoice, search_cert, search_eab, search_payment;
SQL
    log "PostgreSQL: seeded $N certificates in $((SECONDS - t0)) s; $(psql -X -tA "$prm" -c "SELECT pg_database_size(current_database()) / 1048576") MB"
    if [ -n "${SEARCH_PG_MEMORY:-}" ]; then
        # memory as a server for this database would be given it (PostgreSQL's default
        # shared_buffers is 128 MB): SEARCH_PG_MEMORY=6GB, then a restart
        pg_super "ALTER SYSTEM SET shared_buffers = '$SEARCH_PG_MEMORY'" > /dev/null &&
            pg_super "ALTER SYSTEM SET effective_cache_size = '16GB'" > /dev/null &&
            pg_cluster_stop "$W/pg" && pg_cluster_resume "$W/pg" || die "PostgreSQL with $SEARCH_PG_MEMORY"
        log "PostgreSQL: shared_buffers $(pg_super "SHOW shared_buffers")"
    fi
    pg_super "ALTER SYSTEM SET log_min_duration_statement = 0" > /dev/null
    if [ -n "${EXPLAIN:-}" ]; then
        # the plans of the find's statements that take 20 ms or more, into the server's log
        printf '%s\n' "session_preload_libraries = 'auto_explain'" \
            "auto_explain.log_min_duration = '20ms'" "auto_explain.log_analyze = on" \
            "auto_explain.log_buffers = on" \
            >> "$W/pg/data/postgresql.conf"
    fi
    pg_super "SELECT pg_reload_conf()" > /dev/null
    PGLOG=$W/pg/pg.log
    measure pgsql "$prm"
    measure_lists pgsql "$prm"
fi
if [ "$WHICH" != sqlite ] && [ -n "${SEARCH_AFTER:-}" ]; then
    # a script of one's own against the seeded PostgreSQL database (plans, experiments),
    # with PRM set to its connection parameters, before the cluster is removed
    PRM=$prm PGLOG=$PGLOG sh "$SEARCH_AFTER" || true
fi
if [ "$WHICH" != sqlite ] && [ -n "${EXPLAIN:-}" ]; then
    # each logged plan (auto_explain, 20 ms or more): its duration, statement and JIT use
    awk 'function out() { if (q != "") printf "%10s ms %-14s %s\n", d, q, (j ? "JIT" : ""); q = ""; j = 0 }
         /^[0-9-]+ [0-9:.]+ UTC/ { out() }
         /duration: [0-9.]* ms  plan:/ { d = $0; sub(/.*duration: /, "", d); sub(/ ms.*/, "", d) }
         /Query Text:/ { q = $0; sub(/.*PREPARE /, "", q); sub(/ .*/, "", q) }
         /JIT:/ { j = 1 }
         END { out() }' "$W/pg/pg.log" | sort -k1 -n -r | head -20
    # the plan PostgreSQL uses for a serial's fragment on the certificates' search table
    # (the trigram step; as the tool runs it, a prepared statement)
    psql -X -q "$prm" <<SQL
SET jit = off;
PREPARE f(text, bigint) AS SELECT ref FROM search_cert WHERE body ILIKE \$1 LIMIT \$2;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE f('%${serial:20:8}%', 21);
SQL
fi
