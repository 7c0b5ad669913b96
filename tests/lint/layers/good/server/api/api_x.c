#include "api.h"
#include "db.h"
