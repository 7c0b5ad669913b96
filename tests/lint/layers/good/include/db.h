/* fixture: the store layer's header */
#include "log.h"
