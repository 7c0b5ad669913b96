/* fixture: the handlers' header */
#include "http.h"
