/* client_int.h: what the client module's files and its unit tests share; not part of its
 * interface. */
#ifndef VG_CLIENT_CLIENT_INT_H
#define VG_CLIENT_CLIENT_INT_H

#include <sys/socket.h>

/* Whether `sa` is a loopback address (127.0.0.0/8, ::1 or ::ffff:127.x.y.z): the only
 * addresses plain http:// may reach, since it carries the password in clear. */
int client__loopback(const struct sockaddr *sa);

#endif
