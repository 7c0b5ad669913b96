#include "db.h"
#include "engine.h"
