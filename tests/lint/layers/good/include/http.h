/* fixture: the http layer's header */
#include "db.h"
