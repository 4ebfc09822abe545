/* Validation authority, tls-alpn-01 part (RFC 8737): connect to the resolved address,
 * handshake with ALPN "acme-tls/1" and check the self-signed validation certificate.
 * Internal to the VA: see acp_va_int.h. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <apr_strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acp_va.h"
#include "acp_va_int.h"
#include "acp_util.h"
#include "acp_ident.h"

#define VA_ALPN           "acme-tls/1"
#define VA_OID_ACME_IDENT "1.3.6.1.5.5.7.1.31" /* id-pe-acmeIdentifier, RFC 8737 §6.1 */

/* ---------------------------------------------------------------- tls-alpn-01 */

/* Wait until fd is ready for events; 1 ready, 0 deadline passed, -1 error. */
static int wait_fd(const acp_va_int_t *va, int fd, short events)
{
    for (;;) {
        struct pollfd pfd;
        int left = acp_va_int_remaining_ms(va), rc;

        if (left <= 0) {
            return 0;
        }
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        rc = poll(&pfd, 1, left);
        if (rc > 0) {
            return 1;
        }
        if (rc < 0 && errno != EINTR) {
            return -1;
        }
    }
}

static acp_problem_t *tcp_connect(const acp_va_int_t *va, const acp_va_int_addr_t *addr, int port,
                                  const char *domain, int *fdp)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;
    socklen_t salen;
    int fd, err = 0, w;
    socklen_t errlen = sizeof(err);

    *fdp = -1;
    if (addr->family == AF_INET) {
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_port = htons((unsigned short)port);
        sin.sin_addr = addr->v4;
        sa = (const struct sockaddr *)&sin;
        salen = sizeof(sin);
    }
    else {
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((unsigned short)port);
        sin6.sin6_addr = addr->v6;
        sa = (const struct sockaddr *)&sin6;
        salen = sizeof(sin6);
    }
    fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "socket: %s",
                           acp_va_int_os_error(va->p, errno));
    }
    if (connect(fd, sa, salen) != 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            err = errno;
        }
        else {
            w = wait_fd(va, fd, POLLOUT);
            if (w == 0) {
                close(fd);
                return acp_problem(va->p, ACP_ERR_CONNECTION,
                                   "Connection problem: timeout connecting to %s port %d for %s",
                                   addr->str, port, domain);
            }
            if (w < 0) {
                err = errno;
            }
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0) {
                err = errno;
            }
        }
    }
    if (err) {
        close(fd);
        return acp_problem(va->p, ACP_ERR_CONNECTION, "Connection problem: could not connect to %s port %d for %s: %s",
                           addr->str, port, domain, acp_va_int_os_error(va->p, err));
    }
    *fdp = fd;
    return NULL;
}

static const char *ssl_error(apr_pool_t *p, int fallback_errno)
{
    unsigned long e = ERR_peek_last_error();
    char buf[256];

    if (e) {
        ERR_error_string_n(e, buf, sizeof(buf));
        return apr_pstrdup(p, buf);
    }
    if (fallback_errno) {
        return acp_va_int_os_error(p, fallback_errno);
    }
    return "connection closed by peer";
}

/* What the one subjectAltName entry gn names instead of ip (RFC 8738 §6: an iPAddress
 * equal to ip's bytes), NULL when it is ip. */
static const char *san_not_ip(const acp_va_int_t *va, const GENERAL_NAME *gn,
                              const acp_va_int_addr_t *ip)
{
    const void *want = ip->family == AF_INET ? (const void *)&ip->v4 : (const void *)&ip->v6;
    int wlen = ip->family == AF_INET ? 4 : 16;
    const char *got = "(not an iPAddress)";

    if (gn->type == GEN_IPADD && ASN1_STRING_length(gn->d.iPAddress) == wlen &&
        memcmp(ASN1_STRING_get0_data(gn->d.iPAddress), want, (size_t)wlen) == 0) {
        return NULL;
    }
    if (gn->type == GEN_IPADD) {
        int glen = ASN1_STRING_length(gn->d.iPAddress);
        got = acp_ident_ip_text(va->p, glen == 4 ? AF_INET : glen == 16 ? AF_INET6 : 0,
                                ASN1_STRING_get0_data(gn->d.iPAddress));
        got = got ? got : "(an iPAddress of a wrong length)";
    }
    else if (gn->type == GEN_DNS) {
        got = apr_pstrcat(va->p, "dNSName ",
                          acp_va_int_quote(va->p, (const char *)ASN1_STRING_get0_data(gn->d.dNSName),
                                           (size_t)ASN1_STRING_length(gn->d.dNSName)),
                          NULL);
    }
    return got;
}

/* What the one subjectAltName entry gn names instead of domain (RFC 8737 §3: a dNSName
 * equal to domain), NULL when it is domain. */
static const char *san_not_dns(const acp_va_int_t *va, const GENERAL_NAME *gn,
                               const char *domain)
{
    const unsigned char *d = NULL;
    int dlen = 0;

    if (gn->type == GEN_DNS) {
        d = ASN1_STRING_get0_data(gn->d.dNSName);
        dlen = ASN1_STRING_length(gn->d.dNSName);
    }
    if (d && dlen >= 0 && (size_t)dlen == strlen(domain)
        && strncasecmp((const char *)d, domain, (size_t)dlen) == 0) {
        return NULL;
    }
    return d ? acp_va_int_quote(va->p, (const char *)d, (size_t)dlen) : "(not a dNSName)";
}

/* The validation certificate names exactly what is validated, in exactly one
 * subjectAltName entry: an iPAddress (ip) or a dNSName (domain, ip NULL). */
static acp_problem_t *check_san(const acp_va_int_t *va, X509 *cert, const char *domain,
                                const acp_va_int_addr_t *ip, const char *where)
{
    GENERAL_NAMES *gens;
    acp_problem_t *prob = NULL;
    const char *kind = ip ? "iPAddress" : "dNSName", *want = ip ? ip->str : domain;
    int crit = 0;

    gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (!gens) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Incorrect validation certificate for tls-alpn-01 challenge from %s: %s",
                           where, crit == -2 ? "more than one subjectAltName extension"
                                              : "no subjectAltName extension");
    }
    if (sk_GENERAL_NAME_num(gens) != 1) {
        prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Incorrect validation certificate for tls-alpn-01 challenge from %s: "
                           "subjectAltName has %d entries, want exactly one %s %s",
                           where, sk_GENERAL_NAME_num(gens), kind, want);
    }
    else {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, 0);
        const char *got = ip ? san_not_ip(va, gn, ip) : san_not_dns(va, gn, domain);
        if (got) {
            prob = acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                               "Incorrect validation certificate for tls-alpn-01 challenge from %s: "
                               "requested %s%s, received certificate for %s",
                               where, ip ? "iPAddress " : "", want, got);
        }
    }
    GENERAL_NAMES_free(gens);
    return prob;
}

/* RFC 8737 §3: one critical id-pe-acmeIdentifier extension, an OCTET STRING holding
 * SHA-256(key authorization). */
static acp_problem_t *check_acme_ident(const acp_va_int_t *va, X509 *cert, const char *key_authz,
                                       const char *where)
{
    unsigned char md[32];
    X509_EXTENSION *found = NULL;
    const ASN1_OCTET_STRING *val;
    const unsigned char *v;
    int i, n = X509_get_ext_count(cert), count = 0, vlen;

    for (i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(cert, i);
        char oid[64];

        if (ext && OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) > 0
            && strcmp(oid, VA_OID_ACME_IDENT) == 0) {
            found = ext;
            count++;
        }
    }
    if (count != 1) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Incorrect validation certificate for tls-alpn-01 challenge from %s: %s",
                           where, count ? "more than one acmeIdentifier extension"
                                        : "missing acmeIdentifier extension");
    }
    if (X509_EXTENSION_get_critical(found) != 1) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Incorrect validation certificate for tls-alpn-01 challenge from %s: "
                           "acmeIdentifier extension is not critical", where);
    }
    if (!acp_va_int_sha256(key_authz, md)) {
        return acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "SHA-256 failed");
    }
    val = X509_EXTENSION_get_data(found);
    v = ASN1_STRING_get0_data(val);
    vlen = ASN1_STRING_length(val);
    /* DER: OCTET STRING (0x04), length 32, then the digest */
    if (vlen != 34 || v[0] != 0x04 || v[1] != 0x20) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Incorrect validation certificate for tls-alpn-01 challenge from %s: "
                           "malformed acmeIdentifier extension", where);
    }
    if (CRYPTO_memcmp(v + 2, md, sizeof(md)) != 0) {
        return acp_problem(va->p, ACP_ERR_UNAUTHORIZED,
                           "Incorrect validation certificate for tls-alpn-01 challenge from %s: "
                           "expected acmeIdentifier %s, got %s", where,
                           acp_hex(va->p, md, sizeof(md)), acp_hex(va->p, v + 2, 32));
    }
    return NULL;
}

acp_problem_t *acp_va_tls_alpn01(const acp_va_int_t *va, const char *domain,
                                 const acp_va_int_addr_t *ip, const char *key_authz)
{
    static const unsigned char alpn[] = "\x0a" VA_ALPN;
    acp_problem_t *prob;
    acp_va_int_addr_t addr;
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    X509 *cert;
    const unsigned char *proto = NULL;
    unsigned int protolen = 0;
    const char *where, *sni = domain;
    int fd = -1, port = va->tlsalpn_port, conn_slot = -1;

    if (ip) {
        /* RFC 8738 §6: the address itself, the SNI its reverse-mapping name */
        addr = *ip;
        sni = acp_ident_ip_reverse(va->p, domain);
        prob = sni ? NULL : acp_problem(va->p, ACP_ERR_MALFORMED, "not an IP address: %s",
                                        acp_va_int_quote(va->p, domain, strlen(domain)));
    }
    else {
        prob = acp_va_dns_resolve(va, domain, &addr);
    }
    if (!prob) {
        prob = acp_va_int_refuse(va, &addr, domain, port); /* special-purpose addresses */
    }
    if (prob) {
        return prob;
    }
    where = apr_psprintf(va->p, "%s port %d (%s)", addr.str, port, domain);
    prob = acp_va_int_conn_acquire(va, &addr, domain, &conn_slot);
    if (prob) {
        return prob;
    }
    prob = tcp_connect(va, &addr, port, domain, &fd);
    if (prob) {
        acp_va_int_conn_release(conn_slot);
        return prob;
    }

    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1
        || SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
        prob = acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "TLS setup failed: %s", ssl_error(va->p, 0));
        goto done;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* RFC 8737: the certificate is self-signed */
    ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, sni) != 1) {
        prob = acp_problem(va->p, ACP_ERR_SERVER_INTERNAL, "TLS setup failed: %s", ssl_error(va->p, 0));
        goto done;
    }
    SSL_set_connect_state(ssl);
    for (;;) {
        int r, e, w;

        r = SSL_connect(ssl);
        if (r == 1) {
            break;
        }
        e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            w = wait_fd(va, fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);
            if (w > 0) {
                continue;
            }
            if (w == 0) {
                prob = acp_problem(va->p, ACP_ERR_CONNECTION,
                                   "Connection problem: timeout during the TLS handshake with %s", where);
                goto done;
            }
        }
        prob = acp_problem(va->p, ACP_ERR_TLS, "TLS handshake with %s failed: %s", where,
                           ssl_error(va->p, e == SSL_ERROR_SYSCALL ? errno : 0));
        goto done;
    }
    SSL_get0_alpn_selected(ssl, &proto, &protolen);
    if (protolen != sizeof(VA_ALPN) - 1 || memcmp(proto, VA_ALPN, protolen) != 0) {
        prob = acp_problem(va->p, ACP_ERR_TLS, "%s did not negotiate the ALPN protocol " VA_ALPN "%s%s",
                           where, protolen ? ", it chose " : "",
                           protolen ? acp_va_int_quote(va->p, (const char *)proto, protolen) : "");
        goto done;
    }
    cert = SSL_get0_peer_certificate(ssl);
    if (!cert) {
        prob = acp_problem(va->p, ACP_ERR_TLS, "%s presented no certificate", where);
        goto done;
    }
    prob = check_san(va, cert, domain, ip, where);
    if (!prob) {
        prob = check_acme_ident(va, cert, key_authz, where);
    }

done:
    SSL_free(ssl); /* does not close fd (SSL_set_fd uses BIO_NOCLOSE) */
    SSL_CTX_free(ctx);
    close(fd);
    acp_va_int_conn_release(conn_slot);
    ERR_clear_error();
    return prob;
}
