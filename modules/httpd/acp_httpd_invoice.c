/* AcmePayInvoiceTemplate file: the branding of the invoice page, read and checked when
 * the configuration is read, so a missing or broken template stops `apache2 -t` and the
 * start-up with the reason, never a request later. The page itself is drawn by
 * modules/core/acp_invoice_page.c. */
#include <apr_strings.h>
#include <apr_file_io.h>
#include "acp_httpd.h"
#include "acp_invoice_page.h"

const char *acp_httpd_set_invoice_template(cmd_parms *cmd, void *d, const char *file)
{
    acp_srv_cfg_t *c = ap_get_module_config(cmd->server->module_config, &acme_pay_module);
    const char *path = ap_server_root_relative(cmd->pool, file), *err;
    const acp_invoice_tpl_t *tpl = NULL;
    apr_finfo_t fi;
    apr_file_t *f = NULL;
    apr_size_t n;
    apr_status_t rv;
    char *text, ebuf[120];

    if (!path) {
        return apr_psprintf(cmd->pool, "AcmePayInvoiceTemplate: bad path '%s'", file);
    }
    rv = apr_stat(&fi, path, APR_FINFO_SIZE | APR_FINFO_TYPE, cmd->temp_pool);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "AcmePayInvoiceTemplate: cannot read %s: %s", path,
                            apr_strerror(rv, ebuf, sizeof(ebuf)));
    }
    if (fi.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "AcmePayInvoiceTemplate: %s is not a regular file", path);
    }
    if (fi.size > ACP_INVOICE_TPL_MAX) {
        return apr_psprintf(cmd->pool, "AcmePayInvoiceTemplate: %s is larger than 64 KiB", path);
    }
    rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->temp_pool);
    text = apr_palloc(cmd->pool, (apr_size_t)fi.size + 1);
    n = (apr_size_t)fi.size;
    if (rv == APR_SUCCESS && n > 0) {
        rv = apr_file_read_full(f, text, n, &n);
    }
    if (f) {
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "AcmePayInvoiceTemplate: cannot read %s: %s", path,
                            apr_strerror(rv, ebuf, sizeof(ebuf)));
    }
    text[n] = '\0';
    err = acp_invoice_tpl_parse(cmd->pool, text, n, &tpl);
    if (err) {
        return apr_psprintf(cmd->pool, "AcmePayInvoiceTemplate: %s: %s", path, err);
    }
    c->wfe.invoice_tpl = tpl;
    return NULL;
}
