/* envnum: integer settings from the environment (include/envnum.h). */
#include "envnum.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>

long long env_number(const char *name, long long dflt, long long min, long long max)
{
    const char *v = getenv(name);
    char *end = NULL;
    long long x;

    if (!v || !*v)
        return dflt;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || *end || x < min || x > max) {
        log_warn("%s=%s ignored (want an integer from %lld to %lld)", name, v, min, max);
        return dflt;
    }
    return x;
}
