/* QR codes of payment data (libqrencode): drawn for a terminal (Unicode half blocks or
 * ASCII) for the finalize problem detail, and as a standalone SVG for the invoice page.
 * Pure functions; acp_qr.c is the only file that includes <qrencode.h>. */
#ifndef ACP_QR_H
#define ACP_QR_H

#include <apr_pools.h>

/* QR code of data (libqrencode, 8-bit mode, ECC level L, smallest version) drawn for a
 * terminal with a dark background: the LIGHT modules (including a quiet zone of 2 modules
 * on every side) are printed as blocks, dark modules as spaces, so the light terminal
 * foreground shows the light modules. Unicode half blocks (U+2580, U+2584, U+2588, space),
 * two module rows per text row; rows joined by "\n", no trailing newline.
 * ascii != 0: ASCII-only variant, one text row per module row, "##" for light modules and
 * "  " for dark (same inversion). Returns NULL if data is empty or does not fit. */
char *acp_qr_text(apr_pool_t *p, const char *data, int ascii);
/* The same QR as a standalone SVG document (black modules on white, quiet zone 4),
 * module_px pixels per module (clamped to 1..64). NULL if data does not fit. */
char *acp_qr_svg(apr_pool_t *p, const char *data, int module_px);

#endif
