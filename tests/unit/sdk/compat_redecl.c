/* compat_redecl.c: after verge's headers, redeclares every macro, typedef and prototype the way
 * the original SDK headers write them (SDK-FACTS §1). Built with -Werror, it fails if any macro
 * differs token by token (the compiler warns on a non-identical redefinition) or any prototype
 * or typedef is incompatible, so a driver that carries copies of the original declarations
 * keeps compiling. */
#include "le_error.h"
#include "leda.h"
#include "log.h"

/* leda.h macros */
#define LEDA_TAG_NAME            "LINKEDGE_DEVICE_ACCESS"
#define INVALID_DEVICE_HANDLE    -1
#define MAX_PARAM_NAME_LENGTH    64
#define MAX_PARAM_VALUE_LENGTH   2048

/* le_error.h macros */
#define LE_SUCCESS                              0
#define LE_ERROR_UNKNOWN                        100000
#define LE_ERROR_INVAILD_PARAM                  100001
#define LE_ERROR_ALLOCATING_MEM                 100002
#define LE_ERROR_CREATING_MUTEX                 100003
#define LE_ERROR_WRITING_FILE                   100004
#define LE_ERROR_READING_FILE                   100005
#define LE_ERROR_TIMEOUT                        100006
#define LE_ERROR_PARAM_RANGE_OVERFLOW           100007
#define LE_ERROR_SERVICE_UNREACHABLE            100008
#define LE_ERROR_FILE_NOT_EXIST                 100009
#define LEDA_ERROR_DEVICE_UNREGISTER            109000
#define LEDA_ERROR_DEVICE_OFFLINE               109001
#define LEDA_ERROR_PROPERTY_NOT_EXIST           109002
#define LEDA_ERROR_PROPERTY_READ_ONLY           109003
#define LEDA_ERROR_PROPERTY_WRITE_ONLY          109004
#define LEDA_ERROR_SERVICE_NOT_EXIST            109005
#define LEDA_ERROR_SERVICE_INPUT_PARAM          109006
#define LEDA_ERROR_INVALID_JSON                 109007
#define LEDA_ERROR_INVALID_TYPE                 109008

/* log.h macros */
#define COL_DEF "\x1B[0m"
#define COL_RED "\x1B[31m"
#define COL_GRE "\x1B[32m"
#define COL_BLU "\x1B[34m"
#define COL_YEL "\x1B[33m"
#define COL_WHE "\x1B[37m"
#define COL_CYN "\x1B[36m"
#define COL_MAG "\x1B[35m"
#define log_d(tag, fmt,args...) \
    log_print(LOG_LEVEL_DEBUG,COL_WHE,tag,__FILE__,__FUNCTION__,__LINE__,fmt,##args)
#define log_i(tag, fmt,args...) \
    log_print(LOG_LEVEL_INFO,COL_GRE,tag,__FILE__,__FUNCTION__,__LINE__,fmt,##args)
#define log_w(tag, fmt,args...) \
    log_print(LOG_LEVEL_WARN,COL_CYN,tag,__FILE__,__FUNCTION__,__LINE__,fmt,##args)
#define log_e(tag,fmt,args...) \
    log_print(LOG_LEVEL_ERR,COL_YEL,tag,__FILE__,__FUNCTION__,__LINE__,fmt,##args)
#define log_f(tag,fmt,args...) \
    log_print(LOG_LEVEL_FATAL,COL_RED,tag,__FILE__,__FUNCTION__,__LINE__,fmt,##args)
#define log_m(tag,fmt,args...) \
    log_print(LOG_LEVEL_MILESTONE,COL_BLU,tag,__FILE__,__FUNCTION__,__LINE__,fmt,##args)

/* typedefs (a repeated identical typedef is valid C11) */
typedef int device_handle_t;
typedef enum leda_data_type leda_data_type_e;
typedef struct leda_device_data leda_device_data_t;
typedef struct leda_device_callback leda_device_callback_t;
typedef int (*get_properties_callback)(device_handle_t dev_handle,
        leda_device_data_t properties[], int properties_count, void *usr_data);
typedef int (*set_properties_callback)(device_handle_t dev_handle,
        const leda_device_data_t properties[], int properties_count, void *usr_data);
typedef int (*call_service_callback)(device_handle_t dev_handle, const char *service_name,
        const leda_device_data_t data[], int data_count,
        leda_device_data_t output_data[], void *usr_data);
typedef int (*config_changed_callback)(const char *config);

/* prototypes, including the exported-but-undeclared ones drivers may declare */
int  leda_report_properties(device_handle_t dev_handle, const leda_device_data_t properties[], int properties_count);
int  leda_report_event(device_handle_t dev_handle, const char *event_name, const leda_device_data_t data[], int data_count);
int  leda_offline(device_handle_t dev_handle);
int  leda_online(device_handle_t dev_handle);
device_handle_t leda_register_and_online_by_device_name(const char *product_key, const char *device_name, leda_device_callback_t *device_cb, void *usr_data);
device_handle_t leda_register_and_online_by_local_name(const char *product_key, const char *local_name, leda_device_callback_t *device_cb, void *usr_data);
int  leda_init(int worker_thread_nums);
void leda_exit(void);
int  leda_get_driver_info_size(void);
int  leda_get_driver_info(char *driver_info, int size);
int  leda_get_device_info_size(void);
int  leda_get_device_info(char *device_info, int size);
int  leda_get_config_size(void);
int  leda_get_config(char *config, int size);
int  leda_register_config_changed_callback(config_changed_callback config_cb);
int  leda_get_tsl_size(const char *product_key);
int  leda_get_tsl(const char *product_key, char *tsl, int size);
int  leda_get_tsl_ext_info_size(const char *product_key);
int  leda_get_tsl_ext_info(const char *product_key, char *tsl_ext_info, int size);
device_handle_t leda_get_device_handle(const char *product_key, const char *device_name);
int leda_unregister(device_handle_t dev_handle);
int leda_feed_watchdog(const char *module_id, const char *thread_name, int count_down_seconds);

int  log_init(const char *name, LOG_STORE_TYPE type, LOG_LEVEL lvl, LOG_MODE mode);
void log_set_level(LOG_LEVEL level);
void log_print(unsigned char lvl, const char *color, const char *tag, const char *file,
               const char *func, unsigned int line, const char *format, ...);
void log_destroy();

/* Uses the macros once so their expansion is compiled too. */
void compat_redecl_use(void);
void compat_redecl_use(void)
{
    log_d(LEDA_TAG_NAME, "no args\n");
    log_m(LEDA_TAG_NAME, "%d args\n", 1);
}
