/* principal: who is calling (a staff user with a role, a device, or
 * nobody) and what the roles may do. A core type, so that the store, the
 * HTTP layer and the command line share it without the store seeing HTTP. */
#ifndef WARDD_PRINCIPAL_H
#define WARDD_PRINCIPAL_H

#include <stdbool.h>
#include <stdint.h>

typedef enum role {
    ROLE_NONE,
    ROLE_DEVICE,
    ROLE_VIEWER,
    ROLE_NURSE,
    ROLE_PHYSICIAN,
    ROLE_ADMIN,
    /* Only as a route's minimum: a device, or staff from nurse up (FHIR
     * Observation create). Never a caller's role. */
    ROLE_DEVICE_OR_NURSE
} role;

/* "viewer" etc.; "device" and "none" for the others. */
const char *role_name(role r);
/* Parses a staff role name; 0 or -1. */
int role_parse(const char *name, role *out);
/* Whether `have` may use a route whose minimum is `need`: ROLE_NONE is
 * public, ROLE_DEVICE only devices, staff roles by rank. */
bool role_allows(role have, role need);

/* Who is calling. */
typedef struct principal {
    role role;
    int64_t id;     /* users.id or devices.id; 0 when anonymous */
    char name[128]; /* user name or device serial */
    char bed[64];   /* a device's bed ("" when none) */
    bool station;   /* a wall-display station: role viewer, id = stations.id */
} principal;

#endif
