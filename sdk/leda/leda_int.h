/* leda_int.h: internal hooks of leda.c for the SDK's own tests (prefix leda__, not exported
 * from the shared library). Drivers never need them. */
#ifndef LEDA_INT_H
#define LEDA_INT_H

/* Sets the reply deadline of every later call to the runtime, and of the handshake's welcome,
 * in milliseconds; a value <= 0 restores the default LEDA__CALL_TIMEOUT_MS (10 s). */
void leda__set_call_timeout_ms(int timeout_ms);

#endif
