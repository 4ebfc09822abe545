/* QR codes (see acp_qr.h): libqrencode's matrix with a quiet zone, drawn as terminal text
 * or as an SVG path. */
#include <string.h>
#include <apr_strings.h>
#include <qrencode.h>
#include "acp_qr.h"
#include "acp_util.h"

/* The QR of data with a quiet zone of `quiet` modules: *size x *size bytes, 1 = dark. */
static unsigned char *qr_matrix(apr_pool_t *p, const char *data, int quiet, int *size)
{
    QRcode *qr;
    unsigned char *m;
    int w, n, x, y;
    size_t len = data ? strlen(data) : 0;

    if (len == 0 || len > 7089) {
        return NULL;
    }
    qr = QRcode_encodeData((int)len, (const unsigned char *)data, 0, QR_ECLEVEL_L);
    if (!qr) {
        return NULL;
    }
    w = qr->width;
    n = w + 2 * quiet;
    m = apr_pcalloc(p, (apr_size_t)n * (apr_size_t)n);
    for (y = 0; y < w; y++) {
        for (x = 0; x < w; x++) {
            m[(size_t)(y + quiet) * (size_t)n + (size_t)(x + quiet)] =
                qr->data[(size_t)y * (size_t)w + (size_t)x] & 1;
        }
    }
    QRcode_free(qr);
    *size = n;
    return m;
}

#define QR_TEXT_QUIET 2
#define QR_SVG_QUIET 4

char *acp_qr_text(apr_pool_t *p, const char *data, int ascii)
{
    int n, x, y;
    unsigned char *m = qr_matrix(p, data, QR_TEXT_QUIET, &n);
    acp_buf_t sb;

    if (!m) {
        return NULL;
    }
    if (ascii) {
        acp_buf_init(&sb, p, (size_t)n * (size_t)(2 * n + 1) + 1);
        for (y = 0; y < n; y++) {
            if (y) {
                acp_buf_addn(&sb, "\n", 1);
            }
            for (x = 0; x < n; x++) {
                /* inverted: light modules are drawn (light text on a dark terminal) */
                acp_buf_addn(&sb, m[(size_t)y * (size_t)n + (size_t)x] ? "  " : "##", 2);
            }
        }
        return sb.b;
    }
    acp_buf_init(&sb, p, (size_t)((n + 1) / 2) * (size_t)(3 * n + 1) + 1);
    for (y = 0; y < n; y += 2) {
        if (y) {
            acp_buf_addn(&sb, "\n", 1);
        }
        for (x = 0; x < n; x++) {
            int top = !m[(size_t)y * (size_t)n + (size_t)x];
            /* below the last module row is the terminal's own dark background */
            int bot = y + 1 < n && !m[(size_t)(y + 1) * (size_t)n + (size_t)x];
            if (top && bot) {
                acp_buf_add(&sb, "\xe2\x96\x88");     /* U+2588 full block */
            }
            else if (top) {
                acp_buf_add(&sb, "\xe2\x96\x80");     /* U+2580 upper half block */
            }
            else if (bot) {
                acp_buf_add(&sb, "\xe2\x96\x84");     /* U+2584 lower half block */
            }
            else {
                acp_buf_addn(&sb, " ", 1);
            }
        }
    }
    return sb.b;
}

char *acp_qr_svg(apr_pool_t *p, const char *data, int module_px)
{
    int n, x, y;
    unsigned char *m = qr_matrix(p, data, QR_SVG_QUIET, &n);
    acp_buf_t sb;

    if (!m) {
        return NULL;
    }
    if (module_px < 1) {
        module_px = 1;
    }
    if (module_px > 64) {
        module_px = 64;
    }
    acp_buf_init(&sb, p, 4096);
    acp_buf_add(&sb, apr_psprintf(p,
                                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                 "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
                                 "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                                 "shape-rendering=\"crispEdges\">\n"
                                 "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
                                 "fill=\"#ffffff\"/>\n"
                                 "<path fill=\"#000000\" d=\"",
                                 n * module_px, n * module_px, n, n, n, n));
    for (y = 0; y < n; y++) {
        for (x = 0; x < n;) {
            int run = 0;
            while (x + run < n && m[(size_t)y * (size_t)n + (size_t)(x + run)]) {
                run++;
            }
            if (run) {
                acp_buf_add(&sb, apr_psprintf(p, "M%d %dh%dv1h-%dz", x, y, run, run));
                x += run;
            }
            else {
                x++;
            }
        }
    }
    acp_buf_add(&sb, "\"/>\n</svg>\n");
    return sb.b;
}
