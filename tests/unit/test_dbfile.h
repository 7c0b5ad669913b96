/* Shared by the unit tests that need a database file on disk (the WAL,
 * the writer thread): a fresh temporary directory holding it, and its
 * removal. Include after <cmocka.h> and "db.h". */
#ifndef WARDD_TEST_DBFILE_H
#define WARDD_TEST_DBFILE_H

#include <stdio.h>
#include <stdlib.h>

/* Makes /tmp/wardd-<tag>-XXXXXX into dir and, in it, the database t.db
 * (path) with `schema` run by a writer connection. 0, or -1 for a cmocka
 * setup to fail with. */
static inline int test_dbfile_create(char *dir, size_t dir_len, char *path, size_t path_len,
                                     const char *tag, const char *schema)
{
    db_conn *c;
    int rc;

    snprintf(dir, dir_len, "/tmp/wardd-%s-XXXXXX", tag);
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, path_len, "%s/t.db", dir);
    c = db_open(path, true);
    if (!c)
        return -1;
    rc = db_exec(c, schema);
    db_close(c);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Removes the directory and everything in it. 0 or -1. */
static inline int test_dbfile_remove(const char *dir)
{
    char cmd[160];

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
