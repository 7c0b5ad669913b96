/* static: serves the dashboard's files from --web DIR (GET/HEAD), with
 * content types by extension, "/" -> index.html, and no way out of DIR:
 * ".." segments, backslashes and NUL are refused and the resolved path
 * must stay under DIR's real path (symlinks included). */
#ifndef WARDD_STATIC_H
#define WARDD_STATIC_H

#include "http.h"

#include <stdbool.h>

enum MHD_Result static_serve(struct req *r);
/* Pure: the content type for a file name ("application/octet-stream" when unknown). */
const char *static_content_type(const char *name);
/* Pure: whether a URL path is acceptable to map under the web root. */
bool static_path_safe(const char *url);
/* The file a URL path maps to under `root` (a real path, as realpath()
 * gives): 0 with `real` (PATH_MAX bytes) a regular file under root and *sb
 * its stat ("/" and directories -> their index.html), or -1. */
struct stat;
int static_resolve(const char *root, const char *url, char *real, struct stat *sb);

#endif
