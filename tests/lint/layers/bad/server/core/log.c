#include "log.h"
#include "api.h"
