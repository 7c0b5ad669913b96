/* migrate: applies the migrations embedded from schema/migrations/ in order,
 * each in one transaction that also sets PRAGMA user_version to its number.
 * A database newer than this binary is refused. */
#ifndef WARDD_MIGRATE_H
#define WARDD_MIGRATE_H

#include "db.h"

/* Brings the database up to date. Returns 0, or -1 (logged). */
int migrate_apply(db_conn *c);
/* The same, stopping after version `upto` (tests that rewind to an old
 * version and replay one migration, whatever came after it). */
int migrate_apply_upto(db_conn *c, int upto);
/* The newest schema version this binary knows. */
int migrate_latest(void);

#endif
