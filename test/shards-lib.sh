# Shared by test/shards.sh and test/bench/shards.sh: two shard clusters and a
# coordinator whose table "events" is hash-partitioned on customer_id over two
# postgres_fdw foreign tables, one per shard (docs/scaling.md, "Sharded
# sources"); q1/q2/qc run psql on shard 1, shard 2 and the coordinator's
# database fr_shards.  Everything is stopped and removed on exit.
# shellcheck shell=bash

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fr_setup_paths

q1() { psql -qXAt -v ON_ERROR_STOP=1 -h "$S1" -p "$P1" -U postgres -d postgres "$@"; }
q2() { psql -qXAt -v ON_ERROR_STOP=1 -h "$S2" -p "$P2" -U postgres -d postgres "$@"; }
qc() { psql -qXAt -v ON_ERROR_STOP=1 -h "$C" -p "$PC" -U postgres -d fr_shards "$@"; }

# fr_fdw_server NAME DIR PORT DBNAME [, OPTION 'VALUE' ...]: SQL for a
# postgres_fdw server and the mapping of the user postgres to it
fr_fdw_server() {
    cat <<SQL
CREATE SERVER $1 FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '$2', port '$3', dbname '$4', fetch_size '10000'${5:-});
CREATE USER MAPPING FOR postgres SERVER $1 OPTIONS (user 'postgres');
SQL
}

# fr_sharded_table NAME TABLE1 TABLE2 [, OPTION 'VALUE' ...]: SQL for an
# events table hash-partitioned on customer_id over TABLE1 on shard1 and
# TABLE2 on shard2 (the options go to the second)
fr_sharded_table() {
    cat <<SQL
CREATE TABLE $1 (customer_id bigint NOT NULL, product_id bigint NOT NULL, qty integer NOT NULL)
    PARTITION BY HASH (customer_id);
CREATE FOREIGN TABLE ${1}_s1 PARTITION OF $1 FOR VALUES WITH (MODULUS 2, REMAINDER 0)
    SERVER shard1 OPTIONS (table_name '$2');
CREATE FOREIGN TABLE ${1}_s2 PARTITION OF $1 FOR VALUES WITH (MODULUS 2, REMAINDER 1)
    SERVER shard2 OPTIONS (table_name '$3'${4:-});
SQL
}

# fr_shards_start NAME: the three clusters in a new TMP (S1, S2, C and the
# ports P1, P2, PC; R and PR for a replica, which the caller starts), each on
# its own socket directory; the shards' tables events_p0 and events_p1, the
# coordinator's partitioned events over them.
fr_shards_start() {
    TMP=$(mktemp -d "/tmp/fashionrec-$1.XXXXXX")
    chmod 755 "$TMP"
    S1=$TMP/shard1 S2=$TMP/shard2 C=$TMP/coordinator R=$TMP/replica
    trap 'for d in "$R" "$C" "$S2" "$S1"; do fr_stop_cluster "$d"; done; rm -rf "$TMP"' EXIT
    P1=$(fr_free_port $((57000 + RANDOM % 4000))) && P2=$(fr_free_port $((P1 + 1))) &&
        PC=$(fr_free_port $((P2 + 1))) && PR=$(fr_free_port $((PC + 1))) || return 1
    fr_start_cluster "$S1" "$P1" && fr_start_cluster "$S2" "$P2" && fr_start_cluster "$C" "$PC" || return 1
    q1 -c 'CREATE TABLE events_p0 (customer_id bigint NOT NULL, product_id bigint NOT NULL, qty integer NOT NULL)' &&
    q2 -c 'CREATE TABLE events_p1 (customer_id bigint NOT NULL, product_id bigint NOT NULL, qty integer NOT NULL)' &&
    psql -qX -h "$C" -p "$PC" -U postgres -d postgres -c 'CREATE DATABASE fr_shards' >/dev/null || return 1
    # partitionwise aggregation is what sends a GROUP BY on the partition key to the shards
    qc >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION fashionrec;
CREATE EXTENSION postgres_fdw;
ALTER DATABASE fr_shards SET enable_partitionwise_aggregate = on;
$(fr_fdw_server shard1 "$S1" "$P1" postgres ", batch_size '1000', async_capable 'true'")
$(fr_fdw_server shard2 "$S2" "$P2" postgres ", batch_size '1000', async_capable 'true'")
$(fr_sharded_table events events_p0 events_p1)
SQL
}

# fr_shards_load CUSTOMERS PRODUCTS: customers with one of 10 tastes
# (PRODUCTS / 10 products each) and a few purchases outside it, 10 to 30
# events each, repeats included; the rows go to customers and events_local
# on the coordinator and, routed by the partitioned table, to the shards.
fr_shards_load() {
    local per=$(($2 / 10))
    qc >/dev/null <<SQL
CREATE TABLE customers AS SELECT c AS id FROM generate_series(1, $1) c;
CREATE TABLE events_local AS
SELECT c.id AS customer_id,
       CASE WHEN g % 7 = 0 THEN (c.id * 31 + g * 17) % $2 + 1
            ELSE (c.id % 10) * $per + (c.id * 13 + (g % 15) * 7919) % $per + 1 END AS product_id,
       1 + (c.id + g) % 3 AS qty
  FROM customers c, generate_series(1, 10 + (c.id % 21)) g;
INSERT INTO events SELECT * FROM events_local;
ANALYZE customers;
ANALYZE events_local;
ANALYZE events;
SQL
}
