/* errors: the error codes of one registry (errors.def: name, API code,
 * HTTP status, default message). A core header: the store returns these
 * codes for refusals (ERR_BED_OCCUPIED, ERR_CONFLICT...) without knowing
 * HTTP; reply.h turns them into the one error shape. */
#ifndef WARDD_ERRORS_H
#define WARDD_ERRORS_H

typedef enum err_code {
    ERR_NONE = 0,
#define X(name, code, status, message) name,
#include "errors.def"
#undef X
    ERR__COUNT
} err_code;

#endif
