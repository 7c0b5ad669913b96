/* fixture: an HL7 handler ranks with api */
#include "api.h"
#include "hl7_feed.h"
