// msb-test: backends postgres
/* PostgreSQL through libpq: the primary takes writes, the replica streams them and refuses
 * writes of its own. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define PRIMARY_DEFAULT "postgres://msb:msb@127.0.0.1:55432/msb"
#define REPLICA_DEFAULT "postgres://msb:msb@127.0.0.1:55433/msb"

static PGconn *connect_dsn(const char *server, const char *var, const char *def)
{
    const char *dsn = msb_it_env(var, def);
    char with_timeout[1024];
    snprintf(with_timeout, sizeof(with_timeout), "%s%sconnect_timeout=5", dsn,
             strchr(dsn, '?') != NULL ? "&" : "?");
    PGconn *c = PQconnectdb(with_timeout);
    MSB_IT_REQUIRE(server, c != NULL && PQstatus(c) == CONNECTION_OK, "connect to %s: %s", dsn,
                   c != NULL ? PQerrorMessage(c) : "out of memory");
    return c;
}

/* Runs SQL that must succeed; returns the result (caller clears it). */
static PGresult *must(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    return r;
}

static char *scalar(PGconn *c, const char *sql, char *buf, size_t len)
{
    PGresult *r = must(c, sql);
    cr_assert_eq(PQntuples(r), 1, "%s: one row expected", sql);
    snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return buf;
}

struct replica_row {
    PGconn *replica;
    const char *table;
    const char *value;
};

static bool row_visible(void *arg)
{
    struct replica_row *w = arg;
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT v FROM %s WHERE id = 1", w->table);
    PGresult *r = PQexec(w->replica, sql);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
              strcmp(PQgetvalue(r, 0, 0), w->value) == 0;
    PQclear(r);
    return ok;
}

Test(postgres_smoke, replica_reads_what_the_primary_wrote, .timeout = 60)
{
    PGconn *p = connect_dsn("postgres", "MSB_DB__DSN", PRIMARY_DEFAULT);
    PGconn *s = connect_dsn("postgres-replica", "MSB_DB__READ_REPLICA__DSN", REPLICA_DEFAULT);
    char buf[128];
    cr_assert_geq(strtol(scalar(p, "SHOW server_version_num", buf, sizeof(buf)), NULL, 10), 150000);
    cr_assert_str_eq(scalar(p, "SELECT pg_is_in_recovery()", buf, sizeof(buf)), "f");
    cr_assert_str_eq(scalar(s, "SELECT pg_is_in_recovery()", buf, sizeof(buf)), "t",
                     "the replica must be a standby");
    cr_assert_str_eq(scalar(p, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
                            buf, sizeof(buf)),
                     "1", "the primary streams to one standby");

    char table[96];
    char value[96];
    char sql[512];
    msb_it_unique(table, sizeof(table), "it_pg");
    msb_it_unique(value, sizeof(value), "row");
    snprintf(sql, sizeof(sql), "CREATE TABLE %s (id int PRIMARY KEY, v text NOT NULL)", table);
    PQclear(must(p, sql));
    snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (1, $1)", table);
    const char *params[1] = {value};
    PGresult *r = PQexecParams(p, sql, 1, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(p));
    cr_assert_str_eq(PQcmdTuples(r), "1");
    PQclear(r);

    struct replica_row w = {s, table, value};
    cr_assert(msb_it_wait_until(row_visible, &w, 15000, 20),
              "the row written on the primary did not reach the replica within 15 s");

    snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (2, 'no')", table);
    r = PQexec(s, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR, "a standby must refuse writes");
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "25006",
                     "read_only_sql_transaction expected: %s", PQerrorMessage(s));
    PQclear(r);

    snprintf(sql, sizeof(sql), "DROP TABLE %s", table);
    PQclear(must(p, sql));
    PQfinish(s);
    PQfinish(p);
}
