/* error.h: verge's one error convention.
 * Functions return 0 on success or a negative VG_E* code from the single table below;
 * vg_strerror() and vg_errname() turn a code into text (modelled on libuv's UV_ERRNO_MAP). */
#ifndef VG_CORE_ERROR_H
#define VG_CORE_ERROR_H

#define VG_ERRNO_MAP(XX)                                                                           \
    XX(NOMEM, "out of memory")                                                                     \
    XX(INVAL, "invalid argument")                                                                  \
    XX(NOENT, "not found")                                                                         \
    XX(EXIST, "already exists")                                                                    \
    XX(IO, "input/output error")                                                                   \
    XX(PARSE, "malformed input")                                                                   \
    XX(TYPE, "wrong type")                                                                         \
    XX(RANGE, "value out of range")                                                                \
    XX(LIMIT, "limit exceeded")                                                                    \
    XX(TIMEOUT, "timed out")                                                                       \
    XX(AUTH, "authentication failed")                                                              \
    XX(PERM, "permission denied")                                                                  \
    XX(LOCKED, "locked out after repeated failures")                                               \
    XX(BUSY, "resource busy")                                                                      \
    XX(CLOSED, "closed")                                                                           \
    XX(TLS, "TLS failure")                                                                         \
    XX(DB, "database failure")                                                                     \
    XX(PROTO, "protocol violation")                                                                \
    XX(CANCELED, "operation canceled")                                                             \
    XX(INTERNAL, "internal error")

typedef enum {
    VG_OK = 0,
    VG__EBASE = -1000,
#define VG__ERRENUM(name, msg) VG_E##name,
    VG_ERRNO_MAP(VG__ERRENUM)
#undef VG__ERRENUM
    VG__ELAST
} vg_err_t;

/* Returns a static, human-readable description of `err`; "unknown error" for codes
 * outside the table and "success" for 0. Never NULL. */
const char *vg_strerror(int err);

/* Returns the static symbolic name of `err` ("VG_ENOMEM"...), "VG_OK" for 0,
 * "VG_EUNKNOWN" otherwise. Never NULL. */
const char *vg_errname(int err);

#endif
