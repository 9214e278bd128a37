// msb-test: backends postgres
/* The PostgreSQL primary killed with SIGKILL (with its backends, as a crash would): its client
 * sees the connection fail, the replica keeps serving reads, the client reconnects once the
 * primary has recovered, the committed row survived, and the replica streams again. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static void restore(void)
{
    msb_it_infra_restore("postgres");
}

static PGconn *connect_dsn(const char *server, const char *var, const char *def)
{
    const char *dsn = msb_it_env(var, def);
    PGconn *c = PQconnectdb(dsn);
    MSB_IT_REQUIRE(server, c != NULL && PQstatus(c) == CONNECTION_OK, "connect to %s: %s", dsn,
                   c != NULL ? PQerrorMessage(c) : "out of memory");
    return c;
}

static bool exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* One reconnection attempt of the same PGconn. */
static bool reset_and_query(void *arg)
{
    PGconn *c = arg;
    PQreset(c);
    return PQstatus(c) == CONNECTION_OK && exec_ok(c, "SELECT 1");
}

struct row_check {
    PGconn *conn;
    const char *table;
    int id;
};

static bool has_row(void *arg)
{
    struct row_check *w = arg;
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE id = %d", w->table, w->id);
    PGresult *r = PQexec(w->conn, sql);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    return ok;
}

Test(postgres_fault, primary_crash_recovery_and_reconnect, .fini = restore, .timeout = 240)
{
    PGconn *p = connect_dsn("postgres", "MSB_DB__DSN", "postgres://msb:msb@127.0.0.1:55432/msb");
    PGconn *s = connect_dsn("postgres-replica", "MSB_DB__READ_REPLICA__DSN",
                            "postgres://msb:msb@127.0.0.1:55433/msb");
    char table[96];
    char sql[256];
    msb_it_unique(table, sizeof(table), "it_pg_fault");
    snprintf(sql, sizeof(sql), "CREATE TABLE %s (id int PRIMARY KEY)", table);
    cr_assert(exec_ok(p, sql), "%s", PQerrorMessage(p));
    snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (1)", table);
    cr_assert(exec_ok(p, sql), "%s", PQerrorMessage(p));
    struct row_check on_replica = {s, table, 1};
    cr_assert(msb_it_wait_until(has_row, &on_replica, 15000, 20),
              "row 1 never reached the replica");

    MSB_IT_INFRA("kill", "postgres");
    cr_assert_not(exec_ok(p, "SELECT 1"), "a query on the killed primary's connection must fail");
    cr_assert_eq(PQstatus(p), CONNECTION_BAD);
    cr_assert_not(reset_and_query(p), "nothing listens while the primary is down");
    cr_assert(has_row(&on_replica), "the replica serves reads while the primary is down: %s",
              PQerrorMessage(s));

    MSB_IT_INFRA("start", "postgres");
    cr_assert(msb_it_wait_until(reset_and_query, p, 60000, 100),
              "the client did not reconnect to the primary within 60 s: %s", PQerrorMessage(p));
    struct row_check on_primary = {p, table, 1};
    cr_assert(has_row(&on_primary), "the committed row survived the crash");

    snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (2)", table);
    cr_assert(exec_ok(p, sql), "%s", PQerrorMessage(p));
    struct row_check after = {s, table, 2};
    cr_assert(msb_it_wait_until(has_row, &after, 60000, 50),
              "the replica did not resume streaming within 60 s");

    snprintf(sql, sizeof(sql), "DROP TABLE %s", table);
    cr_assert(exec_ok(p, sql), "%s", PQerrorMessage(p));
    PQfinish(s);
    PQfinish(p);
}
