/* Keccak-256 as Ethereum uses it (the original Keccak padding, for EIP-55 address
 * checksums), and the rate-136 sponge under it, which with SHA-3's padding byte is
 * SHA3-256 (how the tests check it against OpenSSL). Pure functions. */
#ifndef ACP_KECCAK_H
#define ACP_KECCAK_H

#include <stddef.h>

/* Keccak-256 (original Keccak padding 0x01, as Ethereum uses; not SHA3-256). */
void acp_keccak256(const unsigned char *data, size_t len, unsigned char out[32]);
/* The rate-136 Keccak sponge with 256-bit output and a given domain padding byte:
 * 0x01 is Keccak-256, 0x06 is SHA3-256 (the tests check it against OpenSSL's). */
void acp_keccak_sponge256(const unsigned char *data, size_t len, unsigned char pad,
                          unsigned char out[32]);

#endif
