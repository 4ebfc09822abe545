/* Secrets at rest (see acp_secret.h): AES-256-GCM under the AcmePayKeyFile key. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "acp_secret.h"
#include "acp_util.h"

#define IV_LEN 12
#define TAG_LEN 16

static apr_status_t create_file(apr_pool_t *p, const char *path, const char **err)
{
    unsigned char raw[ACP_SECRET_KEY_LEN];
    char hex[ACP_SECRET_KEY_LEN * 2 + 2];
    static const char digits[] = "0123456789abcdef";
    size_t i;
    ssize_t w;
    int fd;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        *err = "no random bytes for a new key file";
        return APR_EGENERAL;
    }
    for (i = 0; i < sizeof(raw); i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 15];
    }
    hex[2 * sizeof(raw)] = '\n';
    hex[2 * sizeof(raw) + 1] = '\0';
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        *err = apr_psprintf(p, "cannot create %s: %s", path, strerror(errno));
        return APR_EGENERAL;
    }
    if (fchmod(fd, 0640) != 0) { /* whatever the umask */
        close(fd);
        *err = apr_psprintf(p, "cannot set the mode of %s: %s", path, strerror(errno));
        return APR_EGENERAL;
    }
    w = write(fd, hex, 2 * sizeof(raw) + 1);
    if (w != (ssize_t)(2 * sizeof(raw) + 1) || fsync(fd) != 0) {
        close(fd);
        unlink(path);
        *err = apr_psprintf(p, "cannot write %s", path);
        return APR_EGENERAL;
    }
    close(fd);
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(hex, sizeof(hex));
    return APR_SUCCESS;
}

apr_status_t acp_secret_key_load(apr_pool_t *p, const char *path, int create,
                                 acp_secret_key_t **out, int *created, const char **err)
{
    unsigned char buf[ACP_SECRET_KEY_LEN * 2 + 8];
    acp_secret_key_t *k;
    struct stat st;
    ssize_t n;
    size_t len, i;
    int fd;

    *out = NULL;
    if (created) {
        *created = 0;
    }
    if (stat(path, &st) != 0) {
        if (errno != ENOENT || !create) {
            *err = apr_psprintf(p, "cannot read the key file %s: %s", path, strerror(errno));
            return APR_EGENERAL;
        }
        if (create_file(p, path, err) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        if (created) {
            *created = 1;
        }
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        *err = apr_psprintf(p, "cannot read the key file %s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return APR_EGENERAL;
    }
    if (st.st_mode & 0007) {
        close(fd);
        *err = apr_psprintf(p, "the key file %s is readable by every user (mode %04o): "
                            "chmod 0640 it", path, (unsigned)(st.st_mode & 07777));
        return APR_EGENERAL;
    }
    n = read(fd, buf, sizeof(buf));
    close(fd);
    len = n > 0 ? (size_t)n : 0;
    k = apr_pcalloc(p, sizeof(*k));
    k->path = apr_pstrdup(p, path);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        len--;
    }
    if (len == 2 * ACP_SECRET_KEY_LEN) {
        for (i = 0; i < ACP_SECRET_KEY_LEN; i++) {
            int hi = acp_hexval(buf[2 * i]), lo = acp_hexval(buf[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                break;
            }
            k->key[i] = (unsigned char)(hi << 4 | lo);
        }
        if (i == ACP_SECRET_KEY_LEN) {
            OPENSSL_cleanse(buf, sizeof(buf));
            *out = k;
            return APR_SUCCESS;
        }
    }
    if (n == ACP_SECRET_KEY_LEN) {
        memcpy(k->key, buf, ACP_SECRET_KEY_LEN);
        OPENSSL_cleanse(buf, sizeof(buf));
        *out = k;
        return APR_SUCCESS;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    *err = apr_psprintf(p, "the key file %s must hold 64 hex digits or 32 bytes", path);
    return APR_EGENERAL;
}

int acp_secret_is_sealed(const char *stored)
{
    return stored && !strncmp(stored, ACP_SECRET_PREFIX, sizeof(ACP_SECRET_PREFIX) - 1);
}

const char *acp_secret_seal(apr_pool_t *p, const acp_secret_key_t *k, const char *aad,
                            const char *plain)
{
    size_t plen = strlen(plain);
    unsigned char *out = apr_palloc(p, IV_LEN + plen + TAG_LEN + 1);
    EVP_CIPHER_CTX *ctx;
    int ok = 0, len = 0, flen = 0;

    if (!k || RAND_bytes(out, IV_LEN) != 1) {
        return NULL;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) == 1 &&
        EVP_EncryptInit_ex(ctx, NULL, NULL, k->key, out) == 1 &&
        EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
        EVP_EncryptUpdate(ctx, out + IV_LEN, &len, (const unsigned char *)plain, (int)plen) ==
            1 &&
        EVP_EncryptFinal_ex(ctx, out + IV_LEN + len, &flen) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + IV_LEN + len + flen) ==
            1) {
        ok = 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        return NULL;
    }
    return apr_pstrcat(p, ACP_SECRET_PREFIX,
                       acp_b64url_encode(p, out, (size_t)(IV_LEN + len + flen + TAG_LEN)),
                       NULL);
}

apr_status_t acp_secret_open(apr_pool_t *p, const acp_secret_key_t *k, const char *aad,
                             const char *stored, const char **plain)
{
    const char *b = stored + sizeof(ACP_SECRET_PREFIX) - 1;
    unsigned char *raw = NULL, *out;
    size_t rlen = 0;
    EVP_CIPHER_CTX *ctx;
    int ok = 0, len = 0, flen = 0, clen;

    *plain = NULL;
    if (!stored) {
        return APR_EGENERAL;
    }
    if (!acp_secret_is_sealed(stored)) {
        *plain = stored; /* legacy plaintext */
        return APR_SUCCESS;
    }
    if (!k || acp_b64url_decode(p, b, strlen(b), &raw, &rlen) != 0 ||
        rlen < IV_LEN + TAG_LEN) {
        return APR_EGENERAL;
    }
    clen = (int)(rlen - IV_LEN - TAG_LEN);
    out = apr_palloc(p, (apr_size_t)clen + 1);
    ctx = EVP_CIPHER_CTX_new();
    if (ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) == 1 &&
        EVP_DecryptInit_ex(ctx, NULL, NULL, k->key, raw) == 1 &&
        EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
        EVP_DecryptUpdate(ctx, out, &len, raw + IV_LEN, clen) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + IV_LEN + clen) == 1 &&
        EVP_DecryptFinal_ex(ctx, out + len, &flen) == 1) {
        ok = 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        return APR_EGENERAL;
    }
    out[len + flen] = '\0';
    *plain = (const char *)out;
    return APR_SUCCESS;
}

apr_status_t acp_secret_reseal_all(acp_db_t *db, apr_pool_t *p, const acp_secret_key_t *k,
                                   int *n)
{
    apr_array_header_t *rows = NULL;
    apr_status_t rv;
    int i;

    *n = 0;
    rv = acp_sa_rows(db, p, "acp_eab_plain_keys", &rows, ACP_SA_NOARGS);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        const char *sealed = acp_secret_seal(p, k, apr_pstrcat(p, "eab:", r[0], NULL), r[1]);
        int nrows = 0;
        if (!sealed) {
            return APR_EGENERAL;
        }
        rv = acp_sa_exec(db, p, "acp_eab_seal_key", &nrows, ACP_SA_ARGS(sealed, r[0], r[1]));
        if (rv != APR_SUCCESS) {
            return rv;
        }
        *n += nrows;
    }
    return APR_SUCCESS;
}

apr_status_t acp_secret_nonce_key(acp_db_t *db, apr_pool_t *p, unsigned char *key, size_t len,
                                  const char **err)
{
    static const char aad[] = "setting:nonce_key";
    const char *fresh = acp_random_id(p, (int)len), *stored, *plain = NULL;
    const char **row = NULL;
    unsigned char *raw = NULL;
    size_t rlen = 0;

    /* the first node to start writes the key; everyone reads the one that won */
    stored = db->secrets ? acp_secret_seal(p, db->secrets, aad, fresh) : fresh;
    if (!stored) {
        *err = "cannot seal a new nonce key";
        return APR_EGENERAL;
    }
    acp_sa_exec(db, p, "acp_setting_put", NULL, ACP_SA_ARGS("nonce_key", stored));
    if (acp_sa_row(db, p, "acp_setting_get", &row, ACP_SA_ARGS("nonce_key")) != APR_SUCCESS ||
        !row || !row[0]) {
        *err = "cannot read the nonce key";
        return APR_EGENERAL;
    }
    if (acp_secret_open(p, db->secrets, aad, row[0], &plain) != APR_SUCCESS) {
        *err = db->secrets ? "the nonce key in the database is sealed under another key file "
                             "(AcmePayKeyFile replaced? restore it from the backup)"
                           : "the nonce key in the database is sealed: AcmePayKeyFile is needed";
        return APR_EGENERAL;
    }
    if (acp_b64url_decode(p, plain, strlen(plain), &raw, &rlen) != 0 || rlen != len) {
        *err = "the nonce key in the database is malformed";
        return APR_EGENERAL;
    }
    if (db->secrets && !acp_secret_is_sealed(row[0])) {
        /* legacy plaintext: seal it in place (same key, so no nonce in flight breaks) */
        const char *sealed = acp_secret_seal(p, db->secrets, aad, plain);
        if (!sealed || acp_sa_exec(db, p, "acp_setting_seal", NULL,
                                   ACP_SA_ARGS(sealed, "nonce_key", row[0])) != APR_SUCCESS) {
            *err = "cannot seal the nonce key";
            return APR_EGENERAL;
        }
    }
    memcpy(key, raw, len);
    OPENSSL_cleanse(raw, rlen);
    return APR_SUCCESS;
}
