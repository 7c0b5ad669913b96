#include "engine_int.h"
#include "log.h"
