/*
 * shmbus/shmbus.h - the umbrella header of libshmbus.
 *
 * Conventions, once for every module:
 *  - names are shmbus_<object>_<verb>; enum values SHMBUS_<ENUM>_<VALUE>;
 *  - calls return 0 or a count on success, a negative -errno or -SHMBUS_E*
 *    code on failure (shmbus_strerror() gives the text); constructors fill an
 *    out-pointer;
 *  - suffixes: _try never blocks; _n takes an explicit length; _bulk is
 *    all-or-nothing; _burst takes what fits.
 */
#ifndef SHMBUS_SHMBUS_H
#define SHMBUS_SHMBUS_H

#include "shmbus/error.h"
#include "shmbus/proc.h"
#include "shmbus/block.h"
#include "shmbus/guard.h"
#include "shmbus/relax.h"
#include "shmbus/inspect.h"
#include "shmbus/manager.h"
#include "shmbus/spsc.h"
#include "shmbus/mpmc.h"
#include "shmbus/broadcast.h"
#include "shmbus/slots.h"
#include "shmbus/version.h"

#endif /* SHMBUS_SHMBUS_H */
