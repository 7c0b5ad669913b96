/* static: see static.h. */
#include "static.h"
#include "app.h"
#include "sechdr.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
    {".map", "application/json"},
    {".webmanifest", "application/manifest+json"},
};

const char *static_content_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++)
            if (strcasecmp(dot, content_types[i].ext) == 0)
                return content_types[i].type;
    return "application/octet-stream";
}

bool static_path_safe(const char *url)
{
    const char *seg = url;

    if (url[0] != '/' || strchr(url, '\\') || strlen(url) > 1024)
        return false;
    /* Refuse "." and ".." segments and hidden files. */
    while ((seg = strchr(seg, '/')) != NULL) {
        seg++;
        if (seg[0] == '.')
            return false;
    }
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p < 0x20)
            return false;
    return true;
}

static enum MHD_Result not_found(struct req *r)
{
    return reply_error(r, ERR_NOT_FOUND, "No such file.", NULL);
}

int static_resolve(const char *root, const char *url, char *real, struct stat *sb)
{
    char want[PATH_MAX];

    if (!static_path_safe(url))
        return -1;
    if (snprintf(want, sizeof want, "%s%s%s", root, url,
                 url[strlen(url) - 1] == '/' ? "index.html" : "") >= (int)sizeof want)
        return -1;
    if (!realpath(want, real) || strncmp(real, root, strlen(root)) != 0 ||
        (real[strlen(root)] != '/' && real[strlen(root)] != '\0'))
        return -1;
    if (stat(real, sb) != 0)
        return -1;
    if (S_ISDIR(sb->st_mode)) {
        if (strlen(real) + sizeof "/index.html" > PATH_MAX)
            return -1;
        strcat(real, "/index.html");
        if (stat(real, sb) != 0)
            return -1;
    }
    return S_ISREG(sb->st_mode) ? 0 : -1;
}

enum MHD_Result static_serve(struct req *r)
{
    char root[PATH_MAX], real[PATH_MAX];
    struct MHD_Response *resp;
    struct stat sb;
    enum MHD_Result ret;
    int fd;

    if (!r->app->web_dir || !realpath(r->app->web_dir, root) ||
        static_resolve(root, r->url, real, &sb) != 0)
        return not_found(r);
    fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return not_found(r);
    resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, static_content_type(real));
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    sechdr_dashboard(resp);
    http_security_headers(r, resp);
    ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    r->status_sent = MHD_HTTP_OK;
    return ret;
}
