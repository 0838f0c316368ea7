/* sqlite_alone.c: the peer of tests/bench/driver_reports.sh. SQLite alone doing the upserts the
 * flood driver's reports amount to, as fast as it can: one row per reported property value
 * (no coalescing), into the table verge's property cache uses, with verge's pragmas (WAL,
 * synchronous=NORMAL) and its upsert statement. Report i (of R) is device i % N, properties
 * p<(r * K + j) % P> for j < K with r = i / N, value the text of i, time now: the same rows as
 * flood.c sends.
 *
 *   sqlite_alone DB REPORTS DEVICES PROPS PROPS_PER_REPORT PK COMMIT_MS
 *
 * COMMIT_MS > 0 commits whenever a transaction has been open that long (verge flushes every
 * things.cache_flush_ms, 200 by default); 0 writes everything in one transaction. Prints one
 * line: "rows=... seconds=... rows_per_s=... transactions=...". DB must not exist. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUT_PROP                                                                                   \
    "INSERT INTO properties(pk, dn, identifier, value, time_ms) VALUES(?1, ?2, ?3, ?4, ?5) "       \
    "ON CONFLICT(pk, dn, identifier) DO UPDATE SET value = excluded.value, "                       \
    "time_ms = excluded.time_ms"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void check(sqlite3 *db, int rc, const char *what)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
    fprintf(stderr, "sqlite_alone: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s DB REPORTS DEVICES PROPS PROPS_PER_REPORT PK COMMIT_MS\n",
                argv[0]);
        return 2;
    }
    const char *path = argv[1], *pk = argv[6];
    long long reports = atoll(argv[2]);
    int ndev = atoi(argv[3]), P = atoi(argv[4]), K = atoi(argv[5]);
    double commit_s = atof(argv[7]) / 1000.0;
    if (reports < 1 || ndev < 1 || P < 1 || K < 1 || K > P || P > 64) {
        fprintf(stderr, "sqlite_alone: bad arguments\n");
        return 2;
    }
    sqlite3 *db;
    sqlite3_stmt *put;
    check(db, sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), "open");
    check(db,
          sqlite3_exec(db,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                       "CREATE TABLE properties(pk TEXT NOT NULL, dn TEXT NOT NULL,"
                       "  identifier TEXT NOT NULL, value TEXT, time_ms INTEGER,"
                       "  PRIMARY KEY(pk, dn, identifier)) WITHOUT ROWID;",
                       NULL, NULL, NULL),
          "schema");
    check(db, sqlite3_prepare_v2(db, PUT_PROP, -1, &put, NULL), "prepare");

    char(*dn)[32] = calloc((size_t)ndev, sizeof *dn);
    char id[64][8];
    for (int d = 0; d < ndev; d++)
        snprintf(dn[d], sizeof dn[d], "dev%d", d);
    for (int p = 0; p < P; p++)
        snprintf(id[p], sizeof id[p], "p%d", p);

    long long rows = 0, txns = 0;
    double t0 = mono_s(), txn_start = t0;
    check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), "begin");
    for (long long i = 0; i < reports; i++) {
        long long round = i / ndev;
        char value[24];
        int vlen = snprintf(value, sizeof value, "%lld", i);
        int64_t now = wall_ms();
        for (int j = 0; j < K; j++) {
            sqlite3_bind_text(put, 1, pk, -1, SQLITE_STATIC);
            sqlite3_bind_text(put, 2, dn[i % ndev], -1, SQLITE_STATIC);
            sqlite3_bind_text(put, 3, id[(round * K + j) % P], -1, SQLITE_STATIC);
            sqlite3_bind_text(put, 4, value, vlen, SQLITE_STATIC);
            sqlite3_bind_int64(put, 5, now);
            check(db, sqlite3_step(put), "upsert");
            sqlite3_reset(put);
            rows++;
        }
        if (commit_s > 0 && mono_s() - txn_start >= commit_s) {
            check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
            txns++;
            txn_start = mono_s();
            check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), "begin");
        }
    }
    check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
    txns++;
    double secs = mono_s() - t0;
    printf("rows=%lld seconds=%.3f rows_per_s=%.0f transactions=%lld\n", rows, secs,
           (double)rows / secs, txns);
    sqlite3_finalize(put);
    sqlite3_close(db);
    free(dn);
    return 0;
}
