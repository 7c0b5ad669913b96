/* fixture: the clinical worker including an HL7 header: wrong way */
#include "db.h"
#include "hl7_feed.h"
