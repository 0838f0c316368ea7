/* drvhost.h: the driver host: starts each driver of the bundle as a child process, serves it
 * over the Unix socket of docs/driver-protocol.md, restarts it with exponential backoff when
 * it dies (its devices go Offline meanwhile), and stops it (SIGTERM, then SIGKILL) at
 * shutdown. A driver reaches devices' state, reports and requests through `things`. */
#ifndef VG_DRVHOST_DRVHOST_H
#define VG_DRVHOST_DRVHOST_H

#include "core/ctx.h"
#include "things/things.h"

typedef struct drvhost drvhost_t;

/* Creates the host. Returns 0 and *out, or VG_ENOMEM. */
int drvhost_create(vg_ctx_t *ctx, things_t *things, drvhost_t **out);

/* Listens on the Unix socket `path` (a stale file there is replaced; the parent directory is
 * created with mode 0700). Returns 0, or a negative VG_E* code with a message in `err`. */
int drvhost_listen(drvhost_t *h, const char *path, char *err, size_t errlen);

/* Adds a driver: `exec` is run with `workdir` as its working directory; `config` is the
 * gw_driverconfig value served to it (copied). Returns 0, VG_EEXIST for a duplicate name, or
 * VG_ENOMEM. Drivers start with drvhost_start. */
int drvhost_add_driver(drvhost_t *h, const char *name, const char *exec, const char *workdir,
                       const char *config);

/* Starts every added driver that is not running. */
void drvhost_start(drvhost_t *h);

/* Replaces a driver's config value and, when the running driver subscribed to it, sends
 * notifyConfig. Returns 0 or VG_ENOENT. */
int drvhost_set_config(drvhost_t *h, const char *name, const char *config);

/* Stops driver `name` (SIGTERM, then SIGKILL after drivers.stop_timeout_ms) and forgets it:
 * its devices go Offline, its calls in flight fail, its name may be added again at once.
 * `done(data, clean)` runs (when not NULL) once its process has exited and its handles are
 * closed; `clean` is 0 when SIGKILL was needed. Returns 0 or VG_ENOENT. */
int drvhost_remove_driver(drvhost_t *h, const char *name, void (*done)(void *data, int clean),
                          void *data);

/* Health of driver `name`: its runs that ended without being asked to (crashes, spawn
 * failures) since it was added into *exits, and whether its process is connected now into
 * *connected (either may be NULL). Returns 0 or VG_ENOENT. */
int drvhost_driver_health(const drvhost_t *h, const char *name, int64_t *exits, int *connected);

/* Stops every driver: SIGTERM, then SIGKILL after drivers.stop_timeout_ms; closes the socket.
 * `done` runs when every process has exited and every handle is closed. */
void drvhost_shutdown(drvhost_t *h, void (*done)(void *data), void *data);

/* Frees the host; only after the shutdown callback ran (or when nothing was started). */
void drvhost_destroy(drvhost_t *h);

/* Number of drivers whose process is running and whose connection is established. */
int drvhost_drivers_up(const drvhost_t *h);

#endif
