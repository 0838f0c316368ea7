/* test_headers.c: the public SDK headers against SDK-FACTS §1: every constant, enum value,
 * buffer size, struct field order and function signature, checked at compile time, plus the
 * same sizes at run time so the report lists them. */
#include "le_error.h"
#include "leda.h"
#include "log.h"
#include "vg_test.h"

#include <stddef.h>

/* ---- le_error.h: every code of the §1.3 table ---- */
_Static_assert(LE_SUCCESS == 0, "LE_SUCCESS");
_Static_assert(LE_ERROR_UNKNOWN == 100000, "LE_ERROR_UNKNOWN");
_Static_assert(LE_ERROR_INVAILD_PARAM == 100001, "LE_ERROR_INVAILD_PARAM");
_Static_assert(LE_ERROR_ALLOCATING_MEM == 100002, "LE_ERROR_ALLOCATING_MEM");
_Static_assert(LE_ERROR_CREATING_MUTEX == 100003, "LE_ERROR_CREATING_MUTEX");
_Static_assert(LE_ERROR_WRITING_FILE == 100004, "LE_ERROR_WRITING_FILE");
_Static_assert(LE_ERROR_READING_FILE == 100005, "LE_ERROR_READING_FILE");
_Static_assert(LE_ERROR_TIMEOUT == 100006, "LE_ERROR_TIMEOUT");
_Static_assert(LE_ERROR_PARAM_RANGE_OVERFLOW == 100007, "LE_ERROR_PARAM_RANGE_OVERFLOW");
_Static_assert(LE_ERROR_SERVICE_UNREACHABLE == 100008, "LE_ERROR_SERVICE_UNREACHABLE");
_Static_assert(LE_ERROR_FILE_NOT_EXIST == 100009, "LE_ERROR_FILE_NOT_EXIST");
_Static_assert(LEDA_ERROR_DEVICE_UNREGISTER == 109000, "LEDA_ERROR_DEVICE_UNREGISTER");
_Static_assert(LEDA_ERROR_DEVICE_OFFLINE == 109001, "LEDA_ERROR_DEVICE_OFFLINE");
_Static_assert(LEDA_ERROR_PROPERTY_NOT_EXIST == 109002, "LEDA_ERROR_PROPERTY_NOT_EXIST");
_Static_assert(LEDA_ERROR_PROPERTY_READ_ONLY == 109003, "LEDA_ERROR_PROPERTY_READ_ONLY");
_Static_assert(LEDA_ERROR_PROPERTY_WRITE_ONLY == 109004, "LEDA_ERROR_PROPERTY_WRITE_ONLY");
_Static_assert(LEDA_ERROR_SERVICE_NOT_EXIST == 109005, "LEDA_ERROR_SERVICE_NOT_EXIST");
_Static_assert(LEDA_ERROR_SERVICE_INPUT_PARAM == 109006, "LEDA_ERROR_SERVICE_INPUT_PARAM");
_Static_assert(LEDA_ERROR_INVALID_JSON == 109007, "LEDA_ERROR_INVALID_JSON");
_Static_assert(LEDA_ERROR_INVALID_TYPE == 109008, "LEDA_ERROR_INVALID_TYPE");

/* ---- leda.h: constants, enum, layouts ---- */
_Static_assert(INVALID_DEVICE_HANDLE == -1, "INVALID_DEVICE_HANDLE");
_Static_assert(MAX_PARAM_NAME_LENGTH == 64, "MAX_PARAM_NAME_LENGTH");
_Static_assert(MAX_PARAM_VALUE_LENGTH == 2048, "MAX_PARAM_VALUE_LENGTH");
_Static_assert(sizeof(((leda_device_data_t *)0)->key) == 64, "key buffer");
_Static_assert(sizeof(((leda_device_data_t *)0)->value) == 2048, "value buffer");
_Static_assert(offsetof(leda_device_data_t, type) == 0, "type first");
_Static_assert(offsetof(leda_device_data_t, key) < offsetof(leda_device_data_t, value),
               "key before value");
_Static_assert(_Generic(((leda_device_data_t *)0)->type, leda_data_type_e : 1, default : 0),
               "type field is leda_data_type_e");
_Static_assert(_Generic((device_handle_t)0, int : 1, default : 0), "device_handle_t is int");
_Static_assert(LEDA_TYPE_INT == 0 && LEDA_TYPE_BOOL == 1 && LEDA_TYPE_FLOAT == 2 &&
                   LEDA_TYPE_TEXT == 3 && LEDA_TYPE_DATE == 4 && LEDA_TYPE_ENUM == 5 &&
                   LEDA_TYPE_STRUCT == 6 && LEDA_TYPE_ARRAY == 7 && LEDA_TYPE_DOUBLE == 8 &&
                   LEDA_TYPE_BUTT == 9,
               "leda_data_type_e values");
_Static_assert(offsetof(leda_device_callback_t, get_properties_cb) == 0, "get cb first");
_Static_assert(offsetof(leda_device_callback_t, get_properties_cb) <
                       offsetof(leda_device_callback_t, set_properties_cb) &&
                   offsetof(leda_device_callback_t, set_properties_cb) <
                       offsetof(leda_device_callback_t, call_service_cb) &&
                   offsetof(leda_device_callback_t, call_service_cb) <
                       offsetof(leda_device_callback_t, service_output_max_count),
               "callback struct field order");
_Static_assert(_Generic(((leda_device_callback_t *)0)->service_output_max_count, int : 1,
                        default : 0),
               "service_output_max_count is int");

/* Callback typedefs (the parameter types, in order). */
_Static_assert(_Generic((get_properties_callback)0,
                        int (*)(device_handle_t, leda_device_data_t *, int, void *) : 1,
                        default : 0),
               "get_properties_callback");
_Static_assert(_Generic((set_properties_callback)0,
                        int (*)(device_handle_t, const leda_device_data_t *, int, void *) : 1,
                        default : 0),
               "set_properties_callback");
_Static_assert(_Generic((call_service_callback)0,
                        int (*)(device_handle_t, const char *, const leda_device_data_t *, int,
                                leda_device_data_t *, void *) : 1,
                        default : 0),
               "call_service_callback");
_Static_assert(_Generic((config_changed_callback)0, int (*)(const char *) : 1, default : 0),
               "config_changed_callback");

/* Every prototype, by the type of its address (_Generic does not evaluate its operand, so
 * nothing needs to be linked). */
#define SIG(fn, type) _Static_assert(_Generic(&fn, type : 1, default : 0), #fn " signature")
SIG(leda_report_properties, int (*)(device_handle_t, const leda_device_data_t *, int));
SIG(leda_report_event, int (*)(device_handle_t, const char *, const leda_device_data_t *, int));
SIG(leda_offline, int (*)(device_handle_t));
SIG(leda_online, int (*)(device_handle_t));
SIG(leda_register_and_online_by_device_name,
    device_handle_t (*)(const char *, const char *, leda_device_callback_t *, void *));
SIG(leda_register_and_online_by_local_name,
    device_handle_t (*)(const char *, const char *, leda_device_callback_t *, void *));
SIG(leda_init, int (*)(int));
SIG(leda_exit, void (*)(void));
SIG(leda_get_driver_info_size, int (*)(void));
SIG(leda_get_driver_info, int (*)(char *, int));
SIG(leda_get_device_info_size, int (*)(void));
SIG(leda_get_device_info, int (*)(char *, int));
SIG(leda_get_config_size, int (*)(void));
SIG(leda_get_config, int (*)(char *, int));
SIG(leda_register_config_changed_callback, int (*)(config_changed_callback));
SIG(leda_get_tsl_size, int (*)(const char *));
SIG(leda_get_tsl, int (*)(const char *, char *, int));
SIG(leda_get_tsl_ext_info_size, int (*)(const char *));
SIG(leda_get_tsl_ext_info, int (*)(const char *, char *, int));
SIG(leda_get_device_handle, device_handle_t (*)(const char *, const char *));
SIG(leda_unregister, int (*)(device_handle_t));
SIG(leda_feed_watchdog, int (*)(const char *, const char *, int));
SIG(log_init, int (*)(const char *, LOG_STORE_TYPE, LOG_LEVEL, LOG_MODE));
SIG(log_set_level, void (*)(LOG_LEVEL));
SIG(log_print, void (*)(unsigned char, const char *, const char *, const char *, const char *,
                        unsigned int, const char *, ...));
SIG(log_destroy, void (*)(void));

/* ---- log.h: enums ---- */
_Static_assert(LOG_STDOUT == 0 && LOG_FILE == 1 && LOG_DB == 2 && LOG_FILE_DB == 3,
               "LOG_STORE_TYPE");
_Static_assert(LOG_LEVEL_DEBUG == 0 && LOG_LEVEL_INFO == 1 && LOG_LEVEL_WARN == 2 &&
                   LOG_LEVEL_ERR == 3 && LOG_LEVEL_FATAL == 4 && LOG_LEVEL_MILESTONE == 5,
               "LOG_LEVEL");
_Static_assert(LOG_MOD_BRIEF_MIN == 0 && LOG_MOD_BRIEF == 1 && LOG_MOD_VERBOSE == 2, "LOG_MODE");

static void test_sizes(void)
{
    CHECK_EQ_INT(sizeof(((leda_device_data_t *)0)->key), 64);
    CHECK_EQ_INT(sizeof(((leda_device_data_t *)0)->value), 2048);
    CHECK_EQ_INT(LEDA_TYPE_BUTT, 9);
    CHECK_EQ_INT(INVALID_DEVICE_HANDLE, -1);
}

static void test_strings(void)
{
    CHECK_EQ_STR(LEDA_TAG_NAME, "LINKEDGE_DEVICE_ACCESS");
    CHECK_EQ_STR(COL_DEF, "\x1B[0m");
    CHECK_EQ_STR(COL_RED, "\x1B[31m");
    CHECK_EQ_STR(COL_GRE, "\x1B[32m");
    CHECK_EQ_STR(COL_BLU, "\x1B[34m");
    CHECK_EQ_STR(COL_YEL, "\x1B[33m");
    CHECK_EQ_STR(COL_WHE, "\x1B[37m");
    CHECK_EQ_STR(COL_CYN, "\x1B[36m");
    CHECK_EQ_STR(COL_MAG, "\x1B[35m");
}

VG_TEST_MAIN(VG_TEST(test_sizes) VG_TEST(test_strings))
