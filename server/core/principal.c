/* principal: role names and the role order (include/principal.h). */
#include "principal.h"

#include <string.h>

const char *role_name(role r)
{
    switch (r) {
    case ROLE_DEVICE:
        return "device";
    case ROLE_VIEWER:
        return "viewer";
    case ROLE_NURSE:
        return "nurse";
    case ROLE_PHYSICIAN:
        return "physician";
    case ROLE_ADMIN:
        return "admin";
    case ROLE_DEVICE_OR_NURSE:
        return "device or nurse";
    case ROLE_NONE:
        break;
    }
    return "none";
}

int role_parse(const char *name, role *out)
{
    static const role staff[] = {ROLE_VIEWER, ROLE_NURSE, ROLE_PHYSICIAN, ROLE_ADMIN};

    for (size_t i = 0; name && i < sizeof staff / sizeof staff[0]; i++) {
        if (strcmp(name, role_name(staff[i])) == 0) {
            *out = staff[i];
            return 0;
        }
    }
    return -1;
}

bool role_allows(role have, role need)
{
    if (need == ROLE_NONE)
        return true;
    if (need == ROLE_DEVICE_OR_NURSE)
        return have == ROLE_DEVICE || (have >= ROLE_NURSE && have <= ROLE_ADMIN);
    if (need == ROLE_DEVICE)
        return have == ROLE_DEVICE;
    return have >= ROLE_VIEWER && have >= need;
}
