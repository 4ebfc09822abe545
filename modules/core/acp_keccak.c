/* Keccak-256 (see acp_keccak.h): the Keccak-f[1600] permutation (24 rounds of theta,
 * rho-pi, chi, iota) and the rate-136 sponge with 64-bit little-endian lanes. */
#include <stdint.h>
#include <string.h>
#include "acp_keccak.h"

static const uint64_t keccak_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL
};
/* rho rotation offsets and pi lane order, in the order the combined rho-pi step walks */
static const unsigned keccak_rotc[24] = {
    1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44
};
static const unsigned keccak_piln[24] = {
    10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1
};

static uint64_t rotl64(uint64_t v, unsigned n)
{
    return (v << n) | (v >> (64 - n));
}

static void keccak_f1600(uint64_t st[25])
{
    uint64_t bc[5], t;
    int round, i, j;

    for (round = 0; round < 24; round++) {
        /* theta */
        for (i = 0; i < 5; i++) {
            bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
        }
        for (i = 0; i < 5; i++) {
            t = bc[(i + 4) % 5] ^ rotl64(bc[(i + 1) % 5], 1);
            for (j = 0; j < 25; j += 5) {
                st[j + i] ^= t;
            }
        }
        /* rho and pi */
        t = st[1];
        for (i = 0; i < 24; i++) {
            j = (int)keccak_piln[i];
            bc[0] = st[j];
            st[j] = rotl64(t, keccak_rotc[i]);
            t = bc[0];
        }
        /* chi */
        for (j = 0; j < 25; j += 5) {
            for (i = 0; i < 5; i++) {
                bc[i] = st[j + i];
            }
            for (i = 0; i < 5; i++) {
                st[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
            }
        }
        /* iota */
        st[0] ^= keccak_rc[round];
    }
}

#define KECCAK256_RATE 136

static void keccak_absorb(uint64_t st[25], const unsigned char *block)
{
    int i, b;
    for (i = 0; i < KECCAK256_RATE / 8; i++) {
        uint64_t lane = 0;
        for (b = 7; b >= 0; b--) {
            lane = (lane << 8) | block[i * 8 + b];   /* little-endian lanes */
        }
        st[i] ^= lane;
    }
    keccak_f1600(st);
}

void acp_keccak_sponge256(const unsigned char *data, size_t len, unsigned char pad,
                          unsigned char out[32])
{
    uint64_t st[25];
    unsigned char last[KECCAK256_RATE];
    size_t rem;
    int i;

    memset(st, 0, sizeof(st));
    while (len >= KECCAK256_RATE) {
        keccak_absorb(st, data);
        data += KECCAK256_RATE;
        len -= KECCAK256_RATE;
    }
    rem = len;
    memset(last, 0, sizeof(last));
    if (rem) {
        memcpy(last, data, rem);
    }
    last[rem] ^= pad;
    last[KECCAK256_RATE - 1] ^= 0x80;
    keccak_absorb(st, last);
    for (i = 0; i < 32; i++) {
        out[i] = (unsigned char)(st[i / 8] >> (8 * (i % 8)));
    }
}

void acp_keccak256(const unsigned char *data, size_t len, unsigned char out[32])
{
    acp_keccak_sponge256(data, len, 0x01, out);   /* Keccak padding, not SHA-3's 0x06 */
}
