/*
 * proc_internal.h - liveness across pid namespaces.
 *
 * An ident (pid + start time, shmbus/proc.h) means something only in the
 * pid namespace whose /proc it was read from.  A process in a container
 * with its own /proc is unknown to the host's /proc under its own pid (the
 * host would call it dead and take its role); one that sees the host's
 * /proc but lives in a child namespace would read another process's
 * identity.  So wherever a block records an ident it can also record a
 * namespace tag, and a judge says "dead" only on proof from its own
 * namespace.
 *
 * Tag: the pid namespace of the /proc the ident was read from, as the inode
 * of /proc/self/ns/pid (folded to 32 bits) when /proc is the recorder's own
 * namespace's, else of /proc/1/ns/pid (the init of /proc's namespace), or
 * PROC_NS_UNTRUSTED when neither can be read; XORed with the ident's own
 * fold.  A judge looks idents up in its /proc and calls one dead only if
 * the tag names that /proc's namespace.  The binding makes a tag
 * left over from a previous owner of an entry decode to garbage for the new
 * ident, hence "unknown", never a wrong "same namespace".  0: not recorded
 * (a block written before tags existed): judged by pid as before.
 */
#ifndef SHMBUS_PROC_INTERNAL_H
#define SHMBUS_PROC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "shmbus/proc.h"

#define PROC_NS_UNTRUSTED UINT32_C(1) /* no namespace inode is ever 1 */

enum proc_verdict {
	PROC_DEAD,    /* proven gone (or SHMBUS_IDENT_NONE) */
	PROC_ALIVE,   /* runs */
	PROC_UNKNOWN, /* not found by pid, but the pid means nothing to us */
};

/* The tag to record with @id, an ident of this process. */
uint32_t proc_ns_tag(shmbus_ident_t id);

/*
 * proc_judge - whether @id, recorded with @tag, still runs.  Dead only if
 * our /proc says so and @tag says @id was read from a /proc of the same
 * namespace (@tag 0, not recorded: if our /proc is our own namespace's).
 * Reads /proc like shmbus_proc_alive().
 */
enum proc_verdict proc_judge(shmbus_ident_t id, uint32_t tag);

/* Whether our /proc shows our own pid namespace (/proc/self is getpid()). */
bool proc_trusted(void);

#endif /* SHMBUS_PROC_INTERNAL_H */
