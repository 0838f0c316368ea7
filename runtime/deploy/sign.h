/* sign.h: bundle signatures (Ed25519, wolfSSL). A signature covers the bundle's contents, not
 * an archive's bytes: the SHA-512 of the bundle's file list ("TYPE SIZE SHA256 PATH\n" per
 * entry, sorted by path, bundle.sig itself left out) is signed, so a directory and any archive
 * of it carry the same signature. In a line, TYPE is f (regular file), d (directory) or l
 * (symbolic link); SIZE is a file's size in decimal, 0 for the others; SHA256 is lowercase hex
 * of a file's bytes, of a link's target text, of nothing for a directory; PATH is relative to
 * the bundle with '/' separators, sorted bytewise. Modes are not covered. bundle.sig at the
 * bundle's root is one JSON object {"alg":"ed25519","key":"<base64 public key>","sig":"<base64
 * signature>"}. Key files are one line of base64 (the 32-byte private seed, or the 32-byte
 * public key) and a newline. Blocking file I/O. */
#ifndef VG_DEPLOY_SIGN_H
#define VG_DEPLOY_SIGN_H

#include <stddef.h>

#define DEPLOY_SIG_FILE "bundle.sig"

/* Makes a new key pair: writes the private key to `key_path` (mode 0600) and the public key,
 * one base64 line, to `pub_path` (0644). Neither may exist: VG_EEXIST, and nothing is written.
 * Returns 0, VG_EEXIST, or VG_EIO with a message in `err`. */
int deploy_sign_keygen(const char *key_path, const char *pub_path, char *err, size_t errlen);

/* Signs the bundle directory `dir` with the private key file `key_path`: writes (replaces,
 * atomically) dir/bundle.sig. A key file that others may read (mode not 0600 or stricter), or
 * that is not one base64 line of 32 bytes, is VG_EINVAL; so is a bundle holding what an
 * archive cannot (FIFOs, links pointing outside...). Returns 0, or VG_EIO / VG_EINVAL with a
 * message in `err`. */
int deploy_sign_bundle(const char *dir, const char *key_path, char *err, size_t errlen);

/* Checks dir/bundle.sig against the trusted public keys in file `trusted_path` (one base64
 * key per line; blank lines and lines starting with '#' ignored; a missing or unreadable file
 * is VG_EIO, never VG_ENOENT). The key is looked up first, then the signature checked over
 * the listing of `dir`. Returns 0 when the
 * signature is valid and made by a trusted key; VG_ENOENT when the bundle is not signed;
 * VG_EPERM when it is signed by a key that is not trusted; VG_EAUTH when the signature does
 * not match the contents (changed after signing); VG_EINVAL for a malformed bundle.sig or key
 * file; VG_EIO. `err` says which, naming the file. */
int deploy_sign_verify(const char *dir, const char *trusted_path, char *err, size_t errlen);

#endif
