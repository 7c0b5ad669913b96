/* fixture: the pure engine's header */
#include "obs.h"
