/* WeChat Pay API v3 formats and cryptography (acp_wechat.c) against fixed vectors: the
 * signature strings, SHA256-RSA signatures (PKCS #1 v1.5 is deterministic, so a signature
 * made by another implementation -- Python's cryptography -- must come out byte for
 * byte), notification checks and AEAD_AES_256_GCM decryption with the tag appended; the
 * provider (acp_provider_wechat.c): its options and its reading of notifications. */
#include <stdlib.h>
#include <unistd.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include "acp_test.h"
#include "acp_wechat.h"
#include "acp_provider.h"
#include <openssl/rand.h>

/* the test key (RSA 2048) the fuzz harness fuzz_wechat uses too, FUZZ_KEY_RSA, and a
 * self-signed "platform certificate" for it, serial 5157F09EFDC096DE15EBE81A47057A7232F1B8E1 */
#include "../fuzz/fuzz_keys.h"
static const char cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIC0DCCAbigAwIBAgIUUVfwnv3Alt4V6+gaRwV6cjLxuOEwDQYJKoZIhvcNAQEL\n"
    "BQAwIjEgMB4GA1UEAwwXVGVucGF5LmNvbSBSb290IENBIHRlc3QwHhcNMjYwMTAx\n"
    "MDAwMDAwWhcNMzEwMTAxMDAwMDAwWjAiMSAwHgYDVQQDDBdUZW5wYXkuY29tIFJv\n"
    "b3QgQ0EgdGVzdDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAKPGTJPs\n"
    "z1drs61PpGZZg1enyp3bPJyTpbMybgnPkDgCalWQl4OtCuGzeiUY1FQwLijVM5PO\n"
    "ylQKSZASuczTC20LFH/fesjtB5VHOmw+KL73+sEawSKxvIJMXk6I2VrOxa0rnGtO\n"
    "+zAWycxAD7tHZTKtgN5q2Nhhseb8Tut6qjeGNvN83NPFlRmiJHfpYccG6o+Oz6+Y\n"
    "4CgzRl198/0pHFPTFMcqh71AoXj9lpb7Iqg7ew7QXPpu9dDITXX1JOURxj4rg+IK\n"
    "JCQXra/Zc+aEXd/k5cEim+ysN4/oX/cKNiA1iVWvVc6nLBNjYi7s5gAwoyMGo0cp\n"
    "HH6ol7n1IVMZKNsCAwEAATANBgkqhkiG9w0BAQsFAAOCAQEAV3bDIShNtMSMilpm\n"
    "03aR9mynQxQtoaTa4kjjWzLHHnwsf0vZFqF4cXV1580ubpv+r913BUvHeNthZoH7\n"
    "WrvAX265+ne7e20UGjKgcB3JYdhEXkGFrYX9Z/6sSFcA8s1mQ8p1BSjovXb7FLa4\n"
    "sbU26+fs6p2ZU7R6qfiAYK+klRULQqAqGAJdr7Ec8ql/RqN618eixgQwCKbUr9er\n"
    "lSZsljnrhfKKyf3TP1Db4qp4IVTfHlkbMLMMWkPZlvsymjBv9c2VR5hvxBs16wS5\n"
    "fgbWbU5zwfMTSYkLRzOF8L3CpNsTf6GuMAXIZjhYu54XALX5wAb3xQgu/Tscnj1W\n"
    "qRYeRQ==\n"
    "-----END CERTIFICATE-----\n";
#define SERIAL "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"

static const char create_body[] = "{\"appid\":\"wxd678efh567hg6787\",\"mchid\":\"1230000109\",\"description\":\"Certificate: a.example\",\"out_trade_no\":\"inv_123\",\"notify_url\":\"https://acme.example/acme/pay/wechat\",\"amount\":{\"total\":1000,\"currency\":\"CNY\"}}";
/* SHA256-RSA of "POST\n/v3/pay/transactions/native\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n<body>\n" */
static const char create_sig[] =
    "JE9JL5oQVp8pbTtboR1SWLD7QT2fJH9BQlwfcjpyKGf1wnD/SW/lchBf8OEiAiVPnv9p8QysrTVoaeX7"
    "fgIshbK7WoW/+yc3ZVyXa71esDBuv6EJ8U6eG+0bJTVv54qrgh5W1nNIFba2rkEJ4HAiZhzu7tJCZTBM"
    "vmXrS3wsDPSmOCi8SUpyA94Fjsrl3iPE63Niar+wn560egkwqQm957JHWEqQX17+wA1djIYwqzuo7B7i"
    "UDIqVtgONGHPxexE90265v6JPsNe1pTYuJmL/MUfJvsHwBVSoYS9+INXPhaAFAgXCkW38wNbop36kUpa"
    "B95ykWT2NP6lW4dSyMlfSw==";
static const char notify_body[] = "{\"id\":\"EV-2018022511223320873\",\"resource\":{}}";
/* SHA256-RSA of "1796100000\nfdasflkja484w\n<notify_body>\n" */
static const char notify_sig[] =
    "eyWB4YnhEgwudK3qTvX+iL5SWczttrLjc35IBTrN/mp5XjCje4Afn0ElJrqqFzjPZbXD61w+jg+/V4C2"
    "SItm4XUXkAyv7FpXwCKpRY4G6pV2bPZkYX0CDJJjZ70xZwvGILQrs1rqEla0CvKBBTiTXiBXwKZ3niC+"
    "1iAgj93vbLTMzPG5FYD7PjDVgJcWBvdYUPS85LusfkqPUAcV5FDIpBUzdiCzWYpvT8+sfRvhVjvNOSCK"
    "9ZlH+VZlNINRVUqIygirIuRNi83GRQzmBZdzcNvSscAW1fa3QscjDrK9KipFzRovnnsppVi+NvZ5516k"
    "r/AEcXEzD7hrACr1fmmaMg==";
/* AEAD_AES_256_GCM, key "0123456789abcdefghijklmnopqrstuv", nonce "fdasflkja484",
 * associated data "transaction" */
static const char resource_ct[] =
    "kdUy8AAEd+F97t+k/MpygRXtZHctC3RtMchS24m9Vng9yHRmM42GF+z/oI6VV5XRrTHDjRbuQcOvBYq9"
    "jNsZHTq6GjvrrJGzUSdWxK1EdqlUJ7kuA1mbbjjhLSPCcy8yfAorsMB0de1b765f279ISdvcNXvKsYZj"
    "PlPz2LCKYUBIUsNEPpGXVqoR3J+Jrz24nKE1/U6JotA94JcWsTqAMtJLUu4SSdmdonmyIkpAY96pIF/r"
    "BGsW37E9hKOsXYPP4FAiheRp21yKogkVag==";
static const char resource_pt[] = "{\"mchid\":\"1230000109\",\"appid\":\"wxd678efh567hg6787\",\"out_trade_no\":\"inv_123\",\"transaction_id\":\"4200000001202612010000000001\",\"trade_state\":\"SUCCESS\",\"amount\":{\"total\":1000,\"currency\":\"CNY\"}}";

static const char *write_tmp(apr_pool_t *p, const char *text)
{
    char *path = apr_pstrdup(p, "/tmp/acp-test-wechat-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) {
        return NULL;
    }
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        close(fd);
        return NULL;
    }
    close(fd);
    return path;
}

static void test_messages_and_signing(apr_pool_t *p, EVP_PKEY *key)
{
    const char *parts[5] = {"POST", "/v3/pay/transactions/native", "1554208460",
                            "593BEC0C930BF1AFEB40B4A08C8FB242", create_body};
    const char *sig = NULL, *hdr = NULL;
    char *msg = acp_wechat_message(p, parts, 5);

    CHECK_STR(apr_pstrndup(p, msg, 64),
              "POST\n/v3/pay/transactions/native\n1554208460\n593BEC0C930BF1AFEB40");
    CHECK(strlen(msg) == 5 + 28 + 11 + 33 + strlen(create_body) + 1);
    CHECK(msg[strlen(msg) - 1] == '\n' && msg[strlen(msg) - 2] == '}');
    CHECK(acp_wechat_sign(p, key, msg, strlen(msg), &sig) == APR_SUCCESS);
    CHECK_STR(sig, create_sig);
    CHECK(acp_wechat_verify_sig(p, key, msg, strlen(msg), create_sig) == 0);
    /* one byte of the body changed: the signature no longer holds */
    msg[60] ^= 1;
    CHECK(acp_wechat_verify_sig(p, key, msg, strlen(msg), create_sig) == -1);
    CHECK(acp_wechat_authorization(p, key, "1230000109", "ABC123", "POST",
                                   "/v3/pay/transactions/native", create_body, 1554208460,
                                   "593BEC0C930BF1AFEB40B4A08C8FB242", &hdr) == APR_SUCCESS);
    CHECK_STR(hdr, apr_pstrcat(p, "WECHATPAY2-SHA256-RSA2048 mchid=\"1230000109\","
                                  "nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\",signature=\"",
                               create_sig, "\",timestamp=\"1554208460\",serial_no=\"ABC123\"",
                               NULL));
    /* a GET signs an empty body line */
    {
        const char *g[5] = {"GET", "/v3/certificates", "1", "N", ""};
        CHECK_STR(acp_wechat_message(p, g, 5), "GET\n/v3/certificates\n1\nN\n\n");
    }
}

static void test_notification(apr_pool_t *p, apr_array_header_t *certs)
{
    const char *why = NULL;
    size_t nl = strlen(notify_body);
    long long now = 1796100000;
    char *bad;

    CHECK(certs->nelts == 1);
    CHECK_STR(APR_ARRAY_IDX(certs, 0, acp_wechat_cert_t *)->serial, SERIAL);
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "fdasflkja484w", notify_sig,
                                         SERIAL, notify_body, nl, now, &why) == 0);
    /* serials compare case-insensitively; 5 minutes either way are accepted */
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "fdasflkja484w", notify_sig,
                                         "5157f09efdc096de15ebe81a47057a7232f1b8e1", notify_body,
                                         nl, now + 300, &why) == 0);
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "fdasflkja484w", notify_sig,
                                         SERIAL, notify_body, nl, now - 300, &why) == 0);
    /* stale, or from the future */
    why = NULL;
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "fdasflkja484w", notify_sig,
                                         SERIAL, notify_body, nl, now + 301, &why) == -1);
    CHECK(why && strstr(why, "5 minutes"));
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "fdasflkja484w", notify_sig,
                                         SERIAL, notify_body, nl, now - 301, &why) == -1);
    /* unknown serial */
    why = NULL;
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "fdasflkja484w", notify_sig,
                                         "5157F09EFDC096DE15EBE81A47057A7232F1B8E2", notify_body,
                                         nl, now, &why) == -1);
    CHECK(why && strstr(why, "Serial"));
    /* body, nonce or timestamp changed; signature damaged; headers missing or malformed */
    bad = apr_pstrdup(p, notify_body);
    bad[7] = 'F';
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "fdasflkja484w", notify_sig,
                                         SERIAL, bad, nl, now, &why) == -1);
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "fdasflkja484x", notify_sig,
                                         SERIAL, notify_body, nl, now, &why) == -1);
    CHECK(acp_wechat_verify_notification(p, certs, "1796100001", "fdasflkja484w", notify_sig,
                                         SERIAL, notify_body, nl, now, &why) == -1);
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "fdasflkja484w", notify_sig,
                                         SERIAL, notify_body, nl - 1, now, &why) == -1);
    bad = apr_pstrdup(p, notify_sig);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "fdasflkja484w", bad, SERIAL,
                                         notify_body, nl, now, &why) == -1);
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "fdasflkja484w", "AAAA",
                                         SERIAL, notify_body, nl, now, &why) == -1);
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "fdasflkja484w", "***",
                                         SERIAL, notify_body, nl, now, &why) == -1);
    CHECK(acp_wechat_verify_notification(p, certs, NULL, "fdasflkja484w", notify_sig, SERIAL,
                                         notify_body, nl, now, &why) == -1);
    CHECK(acp_wechat_verify_notification(p, certs, "1796100000", "n", notify_sig, NULL,
                                         notify_body, nl, now, &why) == -1);
    CHECK(acp_wechat_verify_notification(p, certs, "+1796100000", "fdasflkja484w", notify_sig,
                                         SERIAL, notify_body, nl, now, &why) == -1);
    CHECK(acp_wechat_verify_notification(p, certs, "99999999999999999999", "fdasflkja484w",
                                         notify_sig, SERIAL, notify_body, nl, now, &why) == -1);
    CHECK(acp_wechat_verify_notification(p, NULL, "1796100000", "fdasflkja484w", notify_sig,
                                         SERIAL, notify_body, nl, now, &why) == -1);
}

static void test_decrypt(apr_pool_t *p)
{
    const unsigned char *key = (const unsigned char *)"0123456789abcdefghijklmnopqrstuv";
    char *out = NULL, *bad;
    size_t len = 0;

    CHECK(acp_wechat_decrypt(p, key, "fdasflkja484", "transaction", resource_ct, &out, &len) ==
          APR_SUCCESS);
    CHECK_STR(out, resource_pt);
    CHECK(len == strlen(resource_pt));
    /* tampered ciphertext, tag, associated data, nonce or key: refused */
    bad = apr_pstrdup(p, resource_ct);
    bad[5] = bad[5] == 'A' ? 'B' : 'A';
    CHECK(acp_wechat_decrypt(p, key, "fdasflkja484", "transaction", bad, &out, &len) ==
          APR_EINVAL);
    bad = apr_pstrdup(p, resource_ct);
    bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
    CHECK(acp_wechat_decrypt(p, key, "fdasflkja484", "transaction", bad, &out, &len) ==
          APR_EINVAL);
    CHECK(acp_wechat_decrypt(p, key, "fdasflkja484", "certificate", resource_ct, &out, &len) ==
          APR_EINVAL);
    CHECK(acp_wechat_decrypt(p, key, "fdasflkja485", "transaction", resource_ct, &out, &len) ==
          APR_EINVAL);
    CHECK(acp_wechat_decrypt(p, (const unsigned char *)"0123456789abcdefghijklmnopqrstuw",
                             "fdasflkja484", "transaction", resource_ct, &out, &len) ==
          APR_EINVAL);
    /* shorter than a tag, not base64, empty */
    CHECK(acp_wechat_decrypt(p, key, "fdasflkja484", "transaction", "AAAAAAAA", &out, &len) ==
          APR_EINVAL);
    CHECK(acp_wechat_decrypt(p, key, "fdasflkja484", "transaction", "%%%%", &out, &len) ==
          APR_EINVAL);
    CHECK(acp_wechat_decrypt(p, key, "fdasflkja484", "transaction", "", &out, &len) ==
          APR_EINVAL);
    CHECK(acp_wechat_decrypt(p, key, "", "transaction", resource_ct, &out, &len) == APR_EINVAL);
}

static void test_base64(apr_pool_t *p)
{
    unsigned char *d = NULL;
    size_t n = 0;

    CHECK(acp_wechat_b64_decode(p, "YWJj", &d, &n) == APR_SUCCESS && n == 3 &&
          !memcmp(d, "abc", 3));
    CHECK(acp_wechat_b64_decode(p, "YWI=", &d, &n) == APR_SUCCESS && n == 2);
    CHECK(acp_wechat_b64_decode(p, "YQ==", &d, &n) == APR_SUCCESS && n == 1);
    CHECK(acp_wechat_b64_decode(p, "YQ", &d, &n) == APR_EINVAL);       /* no padding */
    CHECK(acp_wechat_b64_decode(p, "Y===", &d, &n) == APR_EINVAL);
    CHECK(acp_wechat_b64_decode(p, "Y=Jj", &d, &n) == APR_EINVAL);
    CHECK(acp_wechat_b64_decode(p, "YW J", &d, &n) == APR_EINVAL);
    CHECK(acp_wechat_b64_decode(p, "YW-_", &d, &n) == APR_EINVAL);     /* base64url */
    CHECK_STR(acp_wechat_b64_encode(p, (const unsigned char *)"ab", 2), "YWI=");
    {
        const char *a = acp_wechat_nonce(p), *b = acp_wechat_nonce(p);
        size_t i;
        int ok = a && b && strlen(a) == 32 && strcmp(a, b) != 0;
        for (i = 0; ok && i < 32; i++) {
            ok = (a[i] >= 'A' && a[i] <= 'Z') || (a[i] >= '0' && a[i] <= '9');
        }
        CHECK(ok);
    }
}

static void test_loading(apr_pool_t *p)
{
    apr_array_header_t *certs = NULL;
    EVP_PKEY *key = NULL;
    const char *err = NULL, *path = write_tmp(p, "not a key\n");

    CHECK(acp_wechat_load_key(p, path, &key, &err) == APR_EINVAL && err);
    CHECK(acp_wechat_load_certs(p, path, &certs, &err) == APR_EINVAL && err);
    unlink(path);
    CHECK(acp_wechat_load_key(p, "/nonexistent/key.pem", &key, &err) == APR_ENOENT);
    /* two certificates in one file: both usable */
    path = write_tmp(p, apr_pstrcat(p, cert_pem, cert_pem, NULL));
    CHECK(acp_wechat_load_certs(p, path, &certs, &err) == APR_SUCCESS && certs->nelts == 2);
    unlink(path);
}


/* AEAD_AES_256_GCM as WeChat Pay encrypts a resource: base64(ciphertext || tag) */
static const char *seal(apr_pool_t *p, const unsigned char *key, const char *nonce,
                        const char *aad, const char *plain)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, len = (int)strlen(plain);
    unsigned char *out = apr_palloc(p, (apr_size_t)len + 16);

    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)strlen(nonce), NULL);
    EVP_EncryptInit_ex(c, NULL, NULL, key, (const unsigned char *)nonce);
    EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad));
    EVP_EncryptUpdate(c, out, &n, (const unsigned char *)plain, len);
    EVP_EncryptFinal_ex(c, out + n, &fin);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + len);
    EVP_CIPHER_CTX_free(c);
    return acp_wechat_b64_encode(p, out, (size_t)len + 16);
}

#define APIV3 "0123456789abcdefghijklmnopqrstuv"
#define TXN(state, appid, amount)                                                           \
    "{\"mchid\":\"1230000109\",\"appid\":\"" appid "\",\"out_trade_no\":\"inv_123\","       \
    "\"transaction_id\":\"4200000001\",\"trade_state\":\"" state "\",\"amount\":" amount "}"
#define AMOUNT "{\"total\":1000,\"currency\":\"CNY\"}"

/* a notification of event carrying plain, signed now with key; *h its headers */
static const char *notice(apr_pool_t *p, EVP_PKEY *key, const char *event, const char *alg,
                          const char *plain, int tamper, apr_table_t **h)
{
    const char *ct = seal(p, (const unsigned char *)APIV3, "n0nce0123456", "transaction", plain);
    const char *body, *sig = NULL, *parts[3];
    char *msg;

    if (tamper) {
        char *t = apr_pstrdup(p, ct);
        t[2] = t[2] == 'A' ? 'B' : 'A';
        ct = t;
    }
    body = apr_psprintf(p, "{\"id\":\"EV-1\",\"event_type\":\"%s\",\"resource_type\":"
                           "\"encrypt-resource\",\"resource\":{\"algorithm\":\"%s\","
                           "\"ciphertext\":\"%s\",\"associated_data\":\"transaction\","
                           "\"nonce\":\"n0nce0123456\",\"original_type\":\"transaction\"}}",
                        event, alg, ct);
    parts[0] = "1796100000";
    parts[1] = "HN";
    parts[2] = body;
    msg = acp_wechat_message(p, parts, 3);
    acp_wechat_sign(p, key, msg, strlen(msg), &sig);
    *h = apr_table_make(p, 4);
    apr_table_set(*h, "wechatpay-timestamp", "1796100000"); /* names are case-insensitive */
    apr_table_set(*h, "Wechatpay-Nonce", "HN");
    apr_table_set(*h, "Wechatpay-Signature", sig);
    apr_table_set(*h, "Wechatpay-Serial", SERIAL);
    return body;
}

static void test_provider(apr_pool_t *p, EVP_PKEY *key)
{
    const char *kp = write_tmp(p, FUZZ_KEY_RSA), *cp = write_tmp(p, cert_pem);
    const char *ap = write_tmp(p, APIV3 "\n"), *short_ap = write_tmp(p, "0123456789\n");
    const char *err = NULL, *why = NULL, *body, *ctype = NULL, *ans = NULL;
    apr_table_t *o = apr_table_make(p, 8), *h = NULL;
    acp_provider_t *pv = NULL;
    acp_notice_t n;
    int status = 0;

    apr_table_set(o, "mchid", "1230000109");
    apr_table_set(o, "appid", "wxd678efh567hg6787");
    apr_table_set(o, "serial", "ABC123");
    apr_table_set(o, "private-key", apr_pstrcat(p, "file:", kp, NULL));
    apr_table_set(o, "apiv3-key", apr_pstrcat(p, "file:", ap, NULL));
    apr_table_set(o, "platform-cert", apr_pstrcat(p, "file:", cp, NULL));
    CHECK(acp_provider_wechat_new(p, o, &pv, &err) == APR_SUCCESS && pv &&
          !strcmp(pv->name, "wechat"));
    /* refused configurations: an unknown option, no mchid, a short APIv3 key, a key in clear */
    {
        apr_table_t *b = apr_table_copy(p, o);
        acp_provider_t *x = NULL;
        apr_table_set(b, "secret", "x");
        CHECK(acp_provider_wechat_new(p, b, &x, &err) != APR_SUCCESS);
        b = apr_table_copy(p, o);
        apr_table_unset(b, "mchid");
        CHECK(acp_provider_wechat_new(p, b, &x, &err) != APR_SUCCESS);
        b = apr_table_copy(p, o);
        apr_table_set(b, "apiv3-key", apr_pstrcat(p, "file:", short_ap, NULL));
        CHECK(acp_provider_wechat_new(p, b, &x, &err) != APR_SUCCESS);
        b = apr_table_copy(p, o);
        apr_table_set(b, "apiv3-key", APIV3);
        CHECK(acp_provider_wechat_new(p, b, &x, &err) != APR_SUCCESS);
        b = apr_table_copy(p, o);
        apr_table_set(b, "platform-cert", apr_pstrcat(p, "file:", kp, NULL));
        CHECK(acp_provider_wechat_new(p, b, &x, &err) != APR_SUCCESS);
    }
    unlink(kp);
    unlink(cp);
    unlink(ap);
    unlink(short_ap);
    if (!pv) {
        return;
    }
    /* a payment */
    memset(&n, 0, sizeof(n));
    body = notice(p, key, "TRANSACTION.SUCCESS", "AEAD_AES_256_GCM",
                  TXN("SUCCESS", "wxd678efh567hg6787", AMOUNT), 0, &h);
    CHECK(pv->verify(pv, p, h, body, strlen(body), 1796100000, &n, &why) == ACP_NOTICE_OK);
    CHECK(!n.not_payment && n.amount_minor == 1000);
    CHECK_STR(n.invoice_id, "inv_123");
    CHECK_STR(n.currency, "CNY");
    CHECK_STR(n.txn_id, "4200000001");
    /* authentic but nothing to credit */
    memset(&n, 0, sizeof(n));
    body = notice(p, key, "REFUND.SUCCESS", "AEAD_AES_256_GCM",
                  TXN("SUCCESS", "wxd678efh567hg6787", AMOUNT), 0, &h);
    CHECK(pv->verify(pv, p, h, body, strlen(body), 1796100000, &n, &why) == ACP_NOTICE_OK &&
          n.not_payment);
    memset(&n, 0, sizeof(n));
    body = notice(p, key, "TRANSACTION.SUCCESS", "AEAD_AES_256_GCM",
                  TXN("NOTPAY", "wxd678efh567hg6787", AMOUNT), 0, &h);
    CHECK(pv->verify(pv, p, h, body, strlen(body), 1796100000, &n, &why) == ACP_NOTICE_OK &&
          n.not_payment);
    /* refused: another app, tampered, another algorithm, no amount, stale */
    memset(&n, 0, sizeof(n));
    body = notice(p, key, "TRANSACTION.SUCCESS", "AEAD_AES_256_GCM",
                  TXN("SUCCESS", "wx0000000000000000", AMOUNT), 0, &h);
    CHECK(pv->verify(pv, p, h, body, strlen(body), 1796100000, &n, &why) == ACP_NOTICE_FORGED);
    body = notice(p, key, "TRANSACTION.SUCCESS", "AEAD_AES_256_GCM",
                  TXN("SUCCESS", "wxd678efh567hg6787", AMOUNT), 1, &h);
    CHECK(pv->verify(pv, p, h, body, strlen(body), 1796100000, &n, &why) == ACP_NOTICE_FORGED);
    body = notice(p, key, "TRANSACTION.SUCCESS", "AES_128_CBC",
                  TXN("SUCCESS", "wxd678efh567hg6787", AMOUNT), 0, &h);
    CHECK(pv->verify(pv, p, h, body, strlen(body), 1796100000, &n, &why) ==
          ACP_NOTICE_MALFORMED);
    body = notice(p, key, "TRANSACTION.SUCCESS", "AEAD_AES_256_GCM",
                  TXN("SUCCESS", "wxd678efh567hg6787", "{\"total\":\"1000\",\"currency\":\"CNY\"}"),
                  0, &h);
    CHECK(pv->verify(pv, p, h, body, strlen(body), 1796100000, &n, &why) ==
          ACP_NOTICE_MALFORMED);
    body = notice(p, key, "TRANSACTION.SUCCESS", "AEAD_AES_256_GCM",
                  TXN("SUCCESS", "wxd678efh567hg6787", AMOUNT), 0, &h);
    CHECK(pv->verify(pv, p, h, body, strlen(body), 1796100000 + 301, &n, &why) ==
          ACP_NOTICE_FORGED);
    CHECK(pv->verify(pv, p, NULL, body, strlen(body), 1796100000, &n, &why) ==
          ACP_NOTICE_FORGED);
    /* answers as documented */
    pv->answer(pv, p, 1, &status, &ctype, &ans, "credited");
    CHECK(status == 200 && ans && !*ans);
    status = 401;
    pv->answer(pv, p, 0, &status, &ctype, &ans, "bad \"signature\"");
    CHECK(status == 401);
    CHECK_STR(ans, "{\"code\":\"FAIL\",\"message\":\"bad \\\"signature\\\"\"}");
    CHECK_STR(ctype, "application/json");
}

static void run_tests(apr_pool_t *p)
{
    const char *kp = write_tmp(p, FUZZ_KEY_RSA), *cp = write_tmp(p, cert_pem), *err = NULL;
    apr_array_header_t *certs = NULL;
    EVP_PKEY *key = NULL;

    CHECK(kp && cp);
    CHECK(acp_wechat_load_key(p, kp, &key, &err) == APR_SUCCESS);
    CHECK(acp_wechat_load_certs(p, cp, &certs, &err) == APR_SUCCESS);
    unlink(kp);
    unlink(cp);
    if (!key || !certs) {
        return;
    }
    test_messages_and_signing(p, key);
    test_notification(p, certs);
    test_decrypt(p);
    test_base64(p);
    test_loading(p);
    test_provider(p, key);
}
