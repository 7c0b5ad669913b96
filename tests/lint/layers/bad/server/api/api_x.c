/* fixture: a handler reaching into the store's private header */
#include "api.h"
#include "store_int.h"
