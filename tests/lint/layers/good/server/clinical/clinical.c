#include "db.h"
#include "engine.h"
#include "log.h"
