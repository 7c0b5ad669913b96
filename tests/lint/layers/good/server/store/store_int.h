/* fixture: the store layer's private header */
#include "db.h"
