/* leda.h: verge's source-compatible version of the Link IoT Edge C driver API (libleda_sdk_c).
 * Names, types, enum values, struct layouts, buffer sizes and prototypes match the original
 * header, so a driver written for it compiles against this one unchanged. The include guard
 * and each macro's replacement text are kept token-for-token, so a driver that carries its own
 * copy of the original header next to this one still compiles. The comments are verge's own. */
#ifndef __LINKEDGE_DEVICE_ACCESS__
#define __LINKEDGE_DEVICE_ACCESS__

#ifdef __cplusplus
extern "C" {
#endif

/* The tag the SDK itself logs under (see log.h). */
#define LEDA_TAG_NAME "LINKEDGE_DEVICE_ACCESS"

/* A device registered by this driver process: a small integer handed out from 0 upwards. */
typedef int device_handle_t;
#define INVALID_DEVICE_HANDLE -1

#define MAX_PARAM_NAME_LENGTH  64   /* size of leda_device_data_t.key, NUL included */
#define MAX_PARAM_VALUE_LENGTH 2048 /* size of leda_device_data_t.value, NUL included */

/* The type of a value; the numbering is part of the API (and of the wire protocols). */
typedef enum leda_data_type {
    LEDA_TYPE_INT = 0, /* 0: decimal integer text, "42" */
    LEDA_TYPE_BOOL,    /* 1: "0" or "1" */
    LEDA_TYPE_FLOAT,   /* 2: single precision, "21.5" */
    LEDA_TYPE_TEXT,    /* 3: any text */
    LEDA_TYPE_DATE,    /* 4: UTC milliseconds as text */
    LEDA_TYPE_ENUM,    /* 5: integer text */
    LEDA_TYPE_STRUCT,  /* 6: a JSON object as text */
    LEDA_TYPE_ARRAY,   /* 7: a JSON array as text */
    LEDA_TYPE_DOUBLE,  /* 8: double precision */

    LEDA_TYPE_BUTT /* 9: end marker; also "type not known / not filled in" */
} leda_data_type_e;

/* One named value (a property, an event argument, a service argument or result). Every value
 * travels as NUL-terminated text in `value`; `type` says how to read it. */
typedef struct leda_device_data {
    leda_data_type_e type;
    char key[MAX_PARAM_NAME_LENGTH];
    char value[MAX_PARAM_VALUE_LENGTH];
} leda_device_data_t;

/* Called (on an SDK worker thread) when the runtime reads properties. `properties[i].key`
 * holds the requested names and `type` is LEDA_TYPE_BUTT; the driver fills in `type` and
 * `value` of each. If any entry is left at LEDA_TYPE_BUTT the reply carries no values.
 * Returns LE_SUCCESS or an le_error.h code, which is passed on to the caller. */
typedef int (*get_properties_callback)(device_handle_t dev_handle, leda_device_data_t properties[],
                                       int properties_count, void *usr_data);

/* Called (on an SDK worker thread) when the runtime writes properties; `properties` holds the
 * names, types (from the product's TSL) and new values. Returns LE_SUCCESS or an error code. */
typedef int (*set_properties_callback)(device_handle_t dev_handle,
                                       const leda_device_data_t properties[], int properties_count,
                                       void *usr_data);

/* Called (on an SDK worker thread) when the runtime invokes service `service_name` with
 * arguments `data`. The driver writes results into `output_data`, which has
 * `service_output_max_count` entries all preset to LEDA_TYPE_BUTT; entries are sent up to
 * the first one left at LEDA_TYPE_BUTT. Returns LE_SUCCESS or an error code. */
typedef int (*call_service_callback)(device_handle_t dev_handle, const char *service_name,
                                     const leda_device_data_t data[], int data_count,
                                     leda_device_data_t output_data[], void *usr_data);

/* The callbacks of one device; all three must be non-NULL. */
typedef struct leda_device_callback {
    get_properties_callback get_properties_cb;
    set_properties_callback set_properties_cb;
    call_service_callback call_service_cb;

    int service_output_max_count; /* number of entries in call_service_cb's output_data */
} leda_device_callback_t;

/* Called when the driver's configuration changes; `config` is the new configuration, in the
 * same form leda_get_config() returns. The return value is passed back to the runtime. */
typedef int (*config_changed_callback)(const char *config);

/* All functions below block until the runtime has answered. */

/* Reports `properties_count` (> 0) property values of a device. Returns LE_SUCCESS,
 * LE_ERROR_INVAILD_PARAM (count 0, bad type or value), LEDA_ERROR_DEVICE_UNREGISTER (unknown
 * handle), LEDA_ERROR_DEVICE_OFFLINE, or another error code. */
int leda_report_properties(device_handle_t dev_handle, const leda_device_data_t properties[],
                           int properties_count);

/* Reports event `event_name` with arguments `data` (NULL or a count of 0 sends no arguments).
 * Returns like leda_report_properties(). */
int leda_report_event(device_handle_t dev_handle, const char *event_name,
                      const leda_device_data_t data[], int data_count);

/* Marks a registered device offline; the runtime stops sending it calls. Returns LE_SUCCESS
 * or an error code. */
int leda_offline(device_handle_t dev_handle);

/* Marks a registered device online again. Returns LE_SUCCESS or an error code. */
int leda_online(device_handle_t dev_handle);

/* Registers the device (product_key, device_name) with callbacks `device_cb` and brings it
 * online. `usr_data` is handed to every callback. Registering a pair that is already online
 * returns its existing handle. Returns a handle >= 0, or a negative value on failure. */
device_handle_t leda_register_and_online_by_device_name(const char *product_key,
                                                        const char *device_name,
                                                        leda_device_callback_t *device_cb,
                                                        void *usr_data);

/* Same as leda_register_and_online_by_device_name(), for a device known by a local name that
 * is unique within its product. */
device_handle_t leda_register_and_online_by_local_name(const char *product_key,
                                                       const char *local_name,
                                                       leda_device_callback_t *device_cb,
                                                       void *usr_data);

/* Connects to the runtime and starts `worker_thread_nums` threads that run the device
 * callbacks. Needs FUNCTION_ID and FUNCTION_NAME in the environment (the runtime sets them).
 * Returns LE_SUCCESS or an error code. */
int leda_init(int worker_thread_nums);

/* Unregisters the driver, stops the worker threads and releases everything leda_init() made.
 * Not to be called from a callback. */
void leda_exit(void);

/* Size, NUL included, of the buffer leda_get_driver_info() needs; 0 on failure. */
int leda_get_driver_info_size(void);

/* Copies the driver part of the configuration (the "config" object, as JSON text) into
 * `driver_info` of `size` bytes. Returns LE_SUCCESS, or LE_ERROR_INVAILD_PARAM if it does not
 * fit, or another error code. */
int leda_get_driver_info(char *driver_info, int size);

/* Size, NUL included, of the buffer leda_get_device_info() needs; 0 on failure. */
int leda_get_device_info_size(void);

/* Copies the device list (a JSON array of {"productKey","deviceName","custom":{...}}) into
 * `device_info` of `size` bytes. Returns like leda_get_driver_info(). */
int leda_get_device_info(char *device_info, int size);

/* Size, NUL included, of the buffer leda_get_config() needs; 0 on failure. */
int leda_get_config_size(void);

/* Copies the whole driver configuration, exactly as stored, into `config` of `size` bytes.
 * Returns like leda_get_driver_info(). */
int leda_get_config(char *config, int size);

/* Sets the function called (on an SDK worker thread) when the driver's configuration changes.
 * Returns LE_SUCCESS, LE_ERROR_INVAILD_PARAM (NULL config_cb, or leda_init() not done), or
 * another error code. */
int leda_register_config_changed_callback(config_changed_callback config_cb);

/* Size, NUL included, of the TSL (thing model JSON) of `product_key`; 0 on failure. */
int leda_get_tsl_size(const char *product_key);

/* Copies the TSL of `product_key` into `tsl` of `size` bytes. Returns like
 * leda_get_driver_info(). */
int leda_get_tsl(const char *product_key, char *tsl, int size);

/* Size, NUL included, of the TSL extension info of `product_key`; 0 on failure. */
int leda_get_tsl_ext_info_size(const char *product_key);

/* Copies the TSL extension info of `product_key` into `tsl_ext_info` of `size` bytes.
 * Returns like leda_get_driver_info(). */
int leda_get_tsl_ext_info(const char *product_key, char *tsl_ext_info, int size);

/* Returns the handle of the registered device (product_key, device_name), or a negative value
 * if there is none. */
device_handle_t leda_get_device_handle(const char *product_key, const char *device_name);

/* verge extensions. The original library exports these two functions without declaring them;
 * some drivers declare them themselves. Declaring them here is harmless for such drivers, as
 * an identical redeclaration is valid C. */

/* Takes the device offline and forgets its registration; the handle becomes invalid.
 * Returns LE_SUCCESS, LE_ERROR_INVAILD_PARAM (unknown handle, as the original) or another
 * error code. */
int leda_unregister(device_handle_t dev_handle);

/* Tells the runtime's watchdog that thread `thread_name` of module `module_id` is alive and
 * must call again within `count_down_seconds` (-1 stops watching it). Returns LE_SUCCESS or an
 * error code. */
int leda_feed_watchdog(const char *module_id, const char *thread_name, int count_down_seconds);

#ifdef __cplusplus
}
#endif

#endif /* __LINKEDGE_DEVICE_ACCESS__ */
