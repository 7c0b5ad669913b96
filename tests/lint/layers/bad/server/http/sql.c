#include <sqlite3.h>
int f(void)
{
    return sqlite3_step(0);
}
