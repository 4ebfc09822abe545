/* Command signer: an external program signs (an HSM wrapper, a remote CA's client, or a
 * test signer that is slow or fails). The CSR goes to its stdin as PEM, the chain comes
 * back on stdout. Marked slow: the request thread never waits for it longer than
 * AcmePaySignTimeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <apr_strings.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "acp_ca.h"
#include "acp_util.h"

typedef struct {
    const char *command;
    int timeout_s;
} cmd_signer_t;

#define MAX_CHAIN (256 * 1024)

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "w");
    int ok;
    if (!f) {
        return -1;
    }
    ok = fwrite(data, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* A value for the shell between single quotes ('\'' for each quote). */
static const char *shq(apr_pool_t *p, const char *v)
{
    const char *q = v ? v : "";
    char *out = apr_palloc(p, strlen(q) * 4 + 3), *w = out;

    *w++ = '\'';
    for (; *q; q++) {
        if (*q == '\'') {
            memcpy(w, "'\\''", 4);
            w += 4;
        }
        else {
            *w++ = *q;
        }
    }
    *w++ = '\'';
    *w = '\0';
    return out;
}

/* The OV organization as environment assignments ("" for DV). */
static const char *org_env(apr_pool_t *p, const acp_sign_org_t *org)
{
    if (!org) {
        return "";
    }
    return apr_pstrcat(p, "ACME_PAY_ORG_O=", shq(p, org->o), " ACME_PAY_ORG_L=", shq(p, org->l),
                       " ACME_PAY_ORG_ST=", shq(p, org->st), " ACME_PAY_ORG_C=", shq(p, org->c),
                       " ACME_PAY_POLICY=" ACP_CA_POLICY_OV " ", NULL);
}

static apr_status_t cmd_sign(acp_signer_t *signer, apr_pool_t *p, const acp_sign_req_t *req,
                             acp_sign_result_t *res, const char **errmsg)
{
    cmd_signer_t *c = signer->baton;
    char csr_path[] = "/tmp/acp-csr-XXXXXX", err_path[] = "/tmp/acp-err-XXXXXX";
    const unsigned char *q = req->csr_der;
    X509_REQ *x = d2i_X509_REQ(NULL, &q, (long)req->csr_len);
    BIO *mem = BIO_new(BIO_s_mem()), *in = NULL;
    char *pem = NULL, *out = NULL, line[512];
    long pemlen;
    size_t got = 0;
    FILE *f;
    int fd1 = -1, fd2 = -1, status;
    X509 *leaf = NULL;
    apr_status_t rv = APR_EGENERAL;
    const char *names, *shell;

    memset(res, 0, sizeof(*res));

    *errmsg = "signer command failed";
    if (!x || !mem || !PEM_write_bio_X509_REQ(mem, x)) {
        *errmsg = "cannot re-encode the CSR";
        goto leave;
    }
    pemlen = BIO_get_mem_data(mem, &pem);
    fd1 = mkstemp(csr_path);
    fd2 = mkstemp(err_path);
    if (fd1 < 0 || fd2 < 0 || write_file(csr_path, pem, (size_t)pemlen) != 0) {
        *errmsg = "cannot write a temporary file";
        goto leave;
    }
    names = req->names ? apr_array_pstrcat(p, req->names, ',') : "";
    shell = apr_psprintf(p, "ACME_PAY_NAMES='%s' ACME_PAY_NOT_AFTER='%" APR_INT64_T_FMT "' %stimeout %d %s < %s 2> %s",
                         names, (apr_int64_t)req->not_after, org_env(p, req->org), c->timeout_s,
                         c->command, csr_path, err_path);
    f = popen(shell, "r");
    if (!f) {
        *errmsg = "cannot run the signer command";
        goto leave;
    }
    out = apr_palloc(p, MAX_CHAIN + 1);
    for (;;) {
        size_t n = fread(out + got, 1, MAX_CHAIN - got, f);
        if (n == 0) {
            break;
        }
        got += n;
        if (got == MAX_CHAIN) {
            break;
        }
    }
    out[got] = '\0';
    status = pclose(f);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        FILE *ef = fopen(err_path, "r");
        if (ef && fgets(line, sizeof(line), ef)) {
            line[strcspn(line, "\r\n")] = '\0';
            *errmsg = apr_psprintf(p, "signer command failed: %s", line);
        }
        else {
            *errmsg = apr_psprintf(p, "signer command exited with status %d",
                                   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        if (ef) {
            fclose(ef);
        }
        goto leave;
    }
    in = BIO_new_mem_buf(out, (int)got);
    leaf = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    if (!leaf) {
        *errmsg = "signer command printed no PEM certificate";
        goto leave;
    }
    {
        const ASN1_INTEGER *serial = X509_get0_serialNumber(leaf);
        BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        char *h;
        struct tm tm;
        if (!hex) {
            BN_free(bn);
            goto leave;
        }
        for (h = hex; *h; h++) {
            *h = (char)((*h >= 'A' && *h <= 'F') ? *h - 'A' + 'a' : *h);
        }
        res->serial_hex = apr_pstrdup(p, hex);
        OPENSSL_free(hex);
        BN_free(bn);
        {
            const ASN1_OCTET_STRING *kid = X509_get0_authority_key_id(leaf);
            res->aki_hex = kid && ASN1_STRING_length(kid) > 0
                               ? acp_hex(p, ASN1_STRING_get0_data(kid),
                                         (size_t)ASN1_STRING_length(kid))
                               : NULL;
        }
        ASN1_TIME_to_tm(X509_get0_notBefore(leaf), &tm);
        res->not_before = (long long)timegm(&tm);
        ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm);
        res->not_after = (long long)timegm(&tm);
    }
    res->pem_chain = apr_pstrmemdup(p, out, got);
    rv = APR_SUCCESS;
leave:
    if (fd1 >= 0) {
        close(fd1);
        unlink(csr_path);
    }
    if (fd2 >= 0) {
        close(fd2);
        unlink(err_path);
    }
    X509_free(leaf);
    BIO_free(in);
    BIO_free(mem);
    X509_REQ_free(x);
    return rv;
}

apr_status_t acp_ca_command_create(apr_pool_t *p, const char *command, int timeout_s,
                                   acp_signer_t **out, const char **errmsg)
{
    acp_signer_t *s;
    cmd_signer_t *c;

    if (!command || access(command, X_OK) != 0) {
        *errmsg = apr_psprintf(p, "signer command '%s' is not executable", command ? command : "");
        return APR_EINVAL;
    }
    c = apr_pcalloc(p, sizeof(*c));
    c->command = apr_pstrdup(p, command);
    c->timeout_s = timeout_s > 0 ? timeout_s : 120;
    s = apr_pcalloc(p, sizeof(*s));
    s->name = "command";
    s->sign = cmd_sign;
    s->baton = c;
    s->slow = 1;
    *out = s;
    return APR_SUCCESS;
}
