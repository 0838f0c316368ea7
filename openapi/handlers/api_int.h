/* api_int.h: the API's internal state, shared by api.c (dispatch, replies) and
 * events_api.c (event streams). */
#ifndef VG_API_INT_H
#define VG_API_INT_H

#include "bus/bus.h"
#include "handlers/api.h"

#include <uv.h>

/* Per-route metric series, found once and kept: a request then costs no lookups. */
#define API__CODES 8
typedef struct api__route_metrics {
    vg_series_t *latency;
    struct {
        int code;
        vg_series_t *count;
    } codes[API__CODES];
} api__route_metrics_t;

typedef struct api__stream api__stream_t;

/* Open event streams and what they share: one heartbeat timer, and the chunk made for the
 * last event, so fan-out formats each event once whatever the number of streams. */
typedef struct api__events {
    api__stream_t *streams;
    int count;
    uv_timer_t heartbeat;
    int heartbeat_init;
    bus_msg_t *chunk_msg; /* the message `chunk` was made from (a reference) */
    char *chunk;
    size_t chunk_len;
    vg_series_t *m_streams, *m_sent, *m_cut;
} api__events_t;

struct api {
    api_deps_t deps;
    api__route_metrics_t *metrics; /* one per row of api_routes, plus one for "unmatched" */
    size_t nroutes;
    api__events_t events;
};

/* api.c */
void api__call_free(api_call_t *call);
void api__count(api_call_t *call, int status);

/* events_api.c */
int api__events_init(api_t *api);
void api__events_close(api_t *api);

#endif
