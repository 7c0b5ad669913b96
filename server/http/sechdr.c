/* sechdr: see sechdr.h. */
#include "sechdr.h"

void sechdr_dashboard(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", SECHDR_CSP);
}
