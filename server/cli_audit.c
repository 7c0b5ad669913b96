/* cli_audit: `wardd audit verify --db PATH` (docs/security.md "Audit
 * chain"). Recomputes the audit chain on a read-only connection and says
 * whether it is intact: exit 0 with the row count and the head hash on
 * stdout (write the head down elsewhere: a chain rewritten from its start
 * by someone holding the file only shows against a recorded head), or exit
 * 1 naming the first broken row on stderr. */
#include "cli.h"
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

int cli_audit_verify(cli_args *a)
{
    const char *path = cli_get(a, "db", NULL);
    store_audit_check chk;
    db_conn *c;
    int rc;

    if (!path) {
        fprintf(stderr, "wardd: --db PATH is required\n");
        return 2;
    }
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "wardd: cannot read the database %s\n", path);
        return 2;
    }
    c = db_open(path, false);
    if (!c) {
        fprintf(stderr, "wardd: cannot open the database %s\n", path);
        return 2;
    }
    rc = store_audit_verify(c, &chk);
    db_close(c);
    if (rc < 0) {
        fprintf(stderr,
                "wardd: cannot read the audit log of %s (is it migrated? wardd migrate --db "
                "PATH)\n",
                path);
        return 2;
    }
    if (rc == 1) {
        fprintf(stderr,
                "wardd: audit chain broken at row %" PRId64 ": %s (%" PRId64
                " rows before it verified)\n",
                chk.bad_id, chk.why, chk.rows);
        printf("{\"ok\":false,\"first_bad_id\":%" PRId64 ",\"verified\":%" PRId64 "}\n", chk.bad_id,
               chk.rows);
        return 1;
    }
    printf("{\"ok\":true,\"rows\":%" PRId64 ",\"head\":\"%s\"}\n", chk.rows, chk.head);
    return 0;
}
