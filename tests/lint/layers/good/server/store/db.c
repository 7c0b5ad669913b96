#include "db.h"
#include "engine.h"
#include "store_int.h"
