#include "obs.h"
