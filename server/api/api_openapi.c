/* api_openapi: GET /api/v1/openapi.json (public), the OpenAPI 3.1 document
 * of this API (docs/openapi.json), compiled into the binary by
 * tools/embed-text.sh (Makefile: $(OPENAPI_H)), so that an installed wardd
 * serves the contract it was built with and needs no docs directory. The
 * document names no patient data and no secret, so it needs no log-in. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "openapi_json.h"

enum MHD_Result api_openapi_get(struct req *r)
{
    char *text = strdup(openapi_json);

    if (!text)
        return reply_error(r, ERR_INTERNAL, NULL, NULL);
    return reply_json_text(r, 200, text);
}
