/* log: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static log_level min_level = LOG_INFO;

void log_set_level(log_level min)
{
    min_level = min;
}

void log_msg(log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char line[1024];
    va_list ap;
    int n;
    int m;

    if (level < min_level)
        return;
    n = snprintf(line, sizeof line, "wardd: %s ", names[level]);
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += m;
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    /* One write per line keeps lines whole when threads log at once. */
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}
