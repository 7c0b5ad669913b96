/* fixture: the HL7 layer's header */
#include "http.h"
