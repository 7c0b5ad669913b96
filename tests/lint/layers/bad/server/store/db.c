#include "db.h"
#include "http.h"
