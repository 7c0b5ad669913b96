#include "engine_int.h"
#include "obs.h"
