/* threadname: see threadname.h. */
#include "threadname.h"

#include <pthread.h>
#include <string.h>

void thread_name(const char *name)
{
    char cut[16];

    strncpy(cut, name, sizeof cut - 1);
    cut[sizeof cut - 1] = '\0';
    (void)pthread_setname_np(pthread_self(), cut);
}
