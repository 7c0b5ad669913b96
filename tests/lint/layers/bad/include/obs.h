/* fixture: a core header that includes the store: wrong way */
#include "db.h"
