/* tls_ciphers.c: AES-GCM against ChaCha20-Poly1305 in this machine's wolfCrypt, sealing and
 * opening 16 KiB records (the TLS maximum), to order the server's cipher suites (openapi/tls).
 * Build and run: cc -O2 tests/bench/tls_ciphers.c -o /tmp/tls_ciphers -lwolfssl && /tmp/tls_ciphers
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#define RECORD  16384
#define SECONDS 1.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static byte in[RECORD], out[RECORD], back[RECORD];
static const byte key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const byte iv[12] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
static const byte aad[13] = {23, 3, 3, 0x40, 0x11};

/* One seal and one open with AES-GCM; returns 0 when the tag checked out. */
static int aesgcm_round(Aes *aes)
{
    byte tag[16];
    if (wc_AesGcmEncrypt(aes, out, in, RECORD, iv, sizeof iv, tag, sizeof tag, aad, sizeof aad))
        return -1;
    return wc_AesGcmDecrypt(aes, back, out, RECORD, iv, sizeof iv, tag, sizeof tag, aad,
                            sizeof aad);
}

/* One seal and one open with ChaCha20-Poly1305; returns 0 when the tag checked out. */
static int chacha_round(void)
{
    byte tag[CHACHA20_POLY1305_AEAD_AUTHTAG_SIZE];
    if (wc_ChaCha20Poly1305_Encrypt(key, iv, aad, sizeof aad, in, RECORD, out, tag)) return -1;
    return wc_ChaCha20Poly1305_Decrypt(key, iv, aad, sizeof aad, out, RECORD, tag, back);
}

int main(void)
{
    memset(in, 0xa5, sizeof in);
    Aes aes128, aes256;
    if (wc_AesInit(&aes128, NULL, INVALID_DEVID) || wc_AesGcmSetKey(&aes128, key, 16)) return 1;
    if (wc_AesInit(&aes256, NULL, INVALID_DEVID) || wc_AesGcmSetKey(&aes256, key, 32)) return 1;

    const char *names[3] = {"AES-128-GCM", "ChaCha20-Poly1305", "AES-256-GCM"};
    double mbs[3];
    for (int which = 0; which < 3; which++) {
        long rounds = 0;
        double start = now_s(), elapsed;
        do {
            int rc = which == 1 ? chacha_round() : aesgcm_round(which == 0 ? &aes128 : &aes256);
            if (rc != 0 || memcmp(in, back, RECORD) != 0) {
                fprintf(stderr, "%s: round trip failed (%d)\n", names[which], rc);
                return 1;
            }
            rounds++;
            elapsed = now_s() - start;
        } while (elapsed < SECONDS);
        /* bytes sealed plus bytes opened */
        mbs[which] = (double)rounds * 2.0 * RECORD / elapsed / 1e6;
        printf("%-18s %8.1f MB/s  (seal+open of 16 KiB records, %.2f s)\n", names[which],
               mbs[which], elapsed);
    }
    wc_AesFree(&aes128);
    wc_AesFree(&aes256);
    printf("faster of the first two: %s (%.2fx)\n", mbs[0] > mbs[1] ? names[0] : names[1],
           mbs[0] > mbs[1] ? mbs[0] / mbs[1] : mbs[1] / mbs[0]);
    return 0;
}
