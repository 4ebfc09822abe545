/* Secrets at rest: AES-256-GCM sealing under the key file (acp_secret.c). */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_strings.h>
#include "acp_test.h"
#include "acp_secret.h"

static void run_tests(apr_pool_t *p)
{
    char dir[] = "/tmp/acp-secret-XXXXXX";
    const char *path, *sealed, *plain = NULL, *err = NULL;
    acp_secret_key_t *k = NULL, *k2 = NULL, *other = NULL;
    struct stat st;
    int created = 0;
    FILE *f;

    CHECK(mkdtemp(dir) != NULL);
    path = apr_pstrcat(p, dir, "/secrets.key", NULL);
    /* a missing file: refused without create, made 0640 with it, never replaced */
    CHECK(acp_secret_key_load(p, path, 0, &k, &created, &err) != APR_SUCCESS);
    umask(0);
    CHECK(acp_secret_key_load(p, path, 1, &k, &created, &err) == APR_SUCCESS);
    CHECK(created == 1);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640 && st.st_size == 65);
    CHECK(acp_secret_key_load(p, path, 1, &k2, &created, &err) == APR_SUCCESS);
    CHECK(created == 0);
    CHECK(k && k2 && memcmp(k->key, k2->key, ACP_SECRET_KEY_LEN) == 0);
    /* round trip, bound to its place */
    sealed = acp_secret_seal(p, k, "eab:KID1", "c2VjcmV0LWhtYWMta2V5");
    CHECK(sealed && acp_secret_is_sealed(sealed));
    CHECK(sealed && strstr(sealed, "c2VjcmV0LWhtYWMta2V5") == NULL);
    CHECK(acp_secret_open(p, k, "eab:KID1", sealed, &plain) == APR_SUCCESS);
    CHECK_STR(plain, "c2VjcmV0LWhtYWMta2V5");
    CHECK(acp_secret_open(p, k, "eab:KID2", sealed, &plain) != APR_SUCCESS);
    CHECK(acp_secret_open(p, NULL, "eab:KID1", sealed, &plain) != APR_SUCCESS);
    /* two seals of one value differ (fresh IV) */
    CHECK(strcmp(sealed, acp_secret_seal(p, k, "eab:KID1", "c2VjcmV0LWhtYWMta2V5")) != 0);
    /* tampering is detected */
    {
        char *t = apr_pstrdup(p, sealed);
        size_t n = strlen(t);
        t[n - 3] = t[n - 3] == 'A' ? 'B' : 'A';
        CHECK(acp_secret_open(p, k, "eab:KID1", t, &plain) != APR_SUCCESS);
        CHECK(acp_secret_open(p, k, "eab:KID1", "enc1:", &plain) != APR_SUCCESS);
        CHECK(acp_secret_open(p, k, "eab:KID1", "enc1:!!!", &plain) != APR_SUCCESS);
    }
    /* another key cannot open it */
    f = fopen(apr_pstrcat(p, dir, "/other.key", NULL), "w");
    CHECK(f != NULL);
    if (f) {
        fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", f);
        fclose(f);
    }
    chmod(apr_pstrcat(p, dir, "/other.key", NULL), 0600);
    CHECK(acp_secret_key_load(p, apr_pstrcat(p, dir, "/other.key", NULL), 0, &other, NULL,
                              &err) == APR_SUCCESS);
    CHECK(other && other->key[0] == 0x00 && other->key[1] == 0x11 && other->key[31] == 0xff);
    CHECK(acp_secret_open(p, other, "eab:KID1", sealed, &plain) != APR_SUCCESS);
    /* legacy plaintext is read as it is */
    CHECK(acp_secret_open(p, k, "eab:KID1", "plainkey", &plain) == APR_SUCCESS);
    CHECK_STR(plain, "plainkey");
    /* a world-readable key file and a malformed one are refused */
    chmod(apr_pstrcat(p, dir, "/other.key", NULL), 0644);
    CHECK(acp_secret_key_load(p, apr_pstrcat(p, dir, "/other.key", NULL), 0, &other, NULL,
                              &err) != APR_SUCCESS);
    CHECK(err && strstr(err, "readable by every user") != NULL);
    f = fopen(apr_pstrcat(p, dir, "/bad.key", NULL), "w");
    if (f) {
        fputs("not a key\n", f);
        fclose(f);
    }
    chmod(apr_pstrcat(p, dir, "/bad.key", NULL), 0600);
    CHECK(acp_secret_key_load(p, apr_pstrcat(p, dir, "/bad.key", NULL), 0, &other, NULL,
                              &err) != APR_SUCCESS);
    unlink(apr_pstrcat(p, dir, "/bad.key", NULL));
    unlink(apr_pstrcat(p, dir, "/other.key", NULL));
    unlink(path);
    rmdir(dir);
}
