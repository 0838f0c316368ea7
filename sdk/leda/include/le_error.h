/* le_error.h: verge's source-compatible version of the Link IoT Edge C SDK error codes.
 * Every name and value matches the original header (including the misspelt
 * LE_ERROR_INVAILD_PARAM), so a driver written for the original compiles unchanged.
 * The include guard and each macro's replacement text are kept token-for-token, so a
 * driver that carries its own copy of the original header next to this one still compiles. */
#ifndef __LINKEDGE_ERROR__
#define __LINKEDGE_ERROR__

#ifdef __cplusplus
extern "C" {
#endif

/* Generic results. */
#define LE_SUCCESS                    0      /* the call succeeded */
#define LE_ERROR_UNKNOWN              100000 /* anything not listed below */
#define LE_ERROR_INVAILD_PARAM        100001 /* NULL or invalid argument (spelling kept) */
#define LE_ERROR_ALLOCATING_MEM       100002 /* out of memory */
#define LE_ERROR_CREATING_MUTEX       100003 /* a mutex could not be created */
#define LE_ERROR_WRITING_FILE         100004 /* a file could not be written */
#define LE_ERROR_READING_FILE         100005 /* a file could not be read */
#define LE_ERROR_TIMEOUT              100006 /* the runtime did not answer in time */
#define LE_ERROR_PARAM_RANGE_OVERFLOW 100007 /* an argument is out of range */
#define LE_ERROR_SERVICE_UNREACHABLE  100008 /* the runtime (or the device) cannot be reached */
#define LE_ERROR_FILE_NOT_EXIST       100009 /* no such file */

/* Device-access results. */
#define LEDA_ERROR_DEVICE_UNREGISTER   109000 /* unknown device handle */
#define LEDA_ERROR_DEVICE_OFFLINE      109001 /* the device is offline */
#define LEDA_ERROR_PROPERTY_NOT_EXIST  109002 /* no such property */
#define LEDA_ERROR_PROPERTY_READ_ONLY  109003 /* the property cannot be written */
#define LEDA_ERROR_PROPERTY_WRITE_ONLY 109004 /* the property cannot be read */
#define LEDA_ERROR_SERVICE_NOT_EXIST   109005 /* no such service */
#define LEDA_ERROR_SERVICE_INPUT_PARAM 109006 /* a service argument is wrong */
#define LEDA_ERROR_INVALID_JSON        109007 /* malformed JSON */
#define LEDA_ERROR_INVALID_TYPE        109008 /* a value has the wrong type */

#ifdef __cplusplus
}
#endif

#endif /* __LINKEDGE_ERROR__ */
