/*
 * manager_internal.h - the manager's own block (its list of managed blocks),
 * the manager object, and what the guardian, inspection and gc share.
 *
 * Layout of a manager block (kind SHMBUS_KIND_MANAGER, version 1):
 *
 *     0    struct shm_header        creator = owner, manager = guardian
 *     128  struct mgr_region    state, capacity, owner, guardian
 *     256  struct mgr_entry[capacity]
 *
 * Only the owning process writes the list (under its mutex).  Readers are
 * the guardian (after the owner died: no writer left), `shmbus inspect` and
 * gc (copies; informational, or only once owner and guardian are dead).
 * Each entry is a sequence lock so a reader never uses a half-written entry:
 * the owner makes `seq` odd, writes the fields, makes it even again.  An
 * entry is always written *before* the name it describes is linked, and
 * cleared only *after* the name was unlinked, so a reader that sees no
 * stable entry for a name can be sure the owner never published that name.
 */
#ifndef SHMBUS_MANAGER_INTERNAL_H
#define SHMBUS_MANAGER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "header_internal.h"
#include "inspect/shm_dir_internal.h"
#include "shmbus/manager.h"

#define SHMBUS_MGR_VERSION 1
#define SHMBUS_MGR_REGION_OFF 128
#define SHMBUS_MGR_ENTRIES_OFF 256

enum mgr_state {
	SHMBUS_MGR_RUNNING = 1,
	SHMBUS_MGR_STOPPING = 2, /* shutdown is unlinking */
};

/* Entry flags: how the block came to be listed (informational). */
enum mgr_entry_flags {
	SHMBUS_MGR_ENTRY_CREATED = 1u << 0, /* made by shmbus_manager_create_block */
	SHMBUS_MGR_ENTRY_TRACKED = 1u << 1, /* put under care by shmbus_manager_track */
};

struct mgr_region {
	_Atomic uint32_t state;      /* enum mgr_state; relaxed, informational */
	uint32_t capacity;           /* entries; immutable after publish */
	uint32_t entry_size;         /* sizeof(struct mgr_entry) */
	uint32_t entries_off;        /* SHMBUS_MGR_ENTRIES_OFF */
	uint64_t owner;              /* ident of the owning process (== creator) */
	_Atomic uint64_t guardian;   /* ident of the guardian (== header manager) */
	_Atomic uint32_t count;      /* listed entries; relaxed, informational */
	uint32_t reserved0;
	uint8_t reserved[88];
};

struct mgr_entry {
	_Atomic uint32_t seq;        /* even: stable; odd: being written */
	uint32_t active;             /* 1: listed, 0: free */
	uint64_t dev;                /* identity of the listed object */
	uint64_t ino;
	uint64_t listed_ns;          /* CLOCK_REALTIME when listed */
	uint32_t name_len;           /* 1..SHMBUS_NAME_MAX; name[name_len] == 0 */
	uint32_t flags;              /* enum mgr_entry_flags */
	char name[SHMBUS_NAME_MAX + 1];
	uint8_t reserved[24];
};

static_assert(sizeof(struct mgr_region) == 128, "manager region size");
static_assert(offsetof(struct mgr_region, guardian) == 24, "manager region layout");
static_assert(offsetof(struct mgr_region, count) == 32, "manager region layout");
static_assert(SHMBUS_HEADER_SIZE == SHMBUS_MGR_REGION_OFF, "region follows the header");
static_assert(sizeof(struct mgr_entry) == 320, "manager entry size");
static_assert(offsetof(struct mgr_entry, dev) == 8, "manager entry layout");
static_assert(offsetof(struct mgr_entry, name_len) == 32, "manager entry layout");
static_assert(offsetof(struct mgr_entry, name) == 40, "manager entry layout");
static_assert(sizeof(struct mgr_entry) % 8 == 0, "entries stay 8-byte aligned");

/* Bytes of a manager block with @capacity entries. */
static inline uint64_t mgr_total_size(uint32_t capacity)
{
	return SHMBUS_MGR_ENTRIES_OFF + (uint64_t)capacity * sizeof(struct mgr_entry);
}

/* A checked, private copy of one stable entry. */
struct mgr_item {
	char name[SHMBUS_NAME_MAX + 1];
	uint64_t dev;
	uint64_t ino;
	uint32_t flags;
};

/*
 * mgr_entry_read - copy @e if it is stable and listed.  Returns 1 and
 * fills @out, 0 if it is free or being written, or -SHMBUS_ECORRUPT if its
 * fields are impossible.  Async-signal-safe (the guardian uses it): no
 * library calls but memcpy.
 */
int mgr_entry_read(const struct mgr_entry *e, struct mgr_item *out);

/*
 * mgr_entry_write / mgr_entry_clear - publish @it in @e, or
 * mark @e free.  Owner only, under its mutex (the single writer).
 */
void mgr_entry_write(struct mgr_entry *e, const struct mgr_item *it);
void mgr_entry_clear(struct mgr_entry *e);

/*
 * mgr_region_check - validate a copy of the region against the
 * checked header (its total size).  Returns 0 or -SHMBUS_ECORRUPT.
 */
int mgr_region_check(const struct mgr_region *r, uint64_t total_size);

/* The manager object (private to the owning process). */
struct shmbus_manager {
	pthread_mutex_t lock;        /* guards everything below that changes */
	pid_t owner_pid;             /* getpid() of the process that started it */
	bool stopped;                /* shutdown done */
	int dirfd;                   /* /dev/shm, O_DIRECTORY */
	int sock;                    /* our end of the socket pair to the guardian */
	shmbus_ident_t guardian;
	pid_t guardian_pid;
	char name[SHMBUS_NAME_MAX + 1];
	uint64_t dev, ino;           /* identity of our own block */
	void *map;                   /* our own block, mapped read-write */
	size_t map_size;
	uint32_t capacity;
	uint32_t count;
	struct mgr_item *items; /* private mirror of the list, [capacity] */
	bool *used;                    /* which mirror items are listed */
};

static inline struct mgr_region *mgr_region(void *map)
{
	return (struct mgr_region *)((char *)map + SHMBUS_MGR_REGION_OFF);
}

static inline struct mgr_entry *mgr_entries(void *map)
{
	return (struct mgr_entry *)((char *)map + SHMBUS_MGR_ENTRIES_OFF);
}

/* What the forked guardian needs; copied into it by fork(). */
struct mgr_guard_args {
	int pidfd;                   /* the owner; -1 if the kernel has no pidfd */
	int sock;                    /* guardian end of the socket pair */
	int dirfd;                   /* /dev/shm */
	int devnull;                 /* for stdin, stdout, stderr */
	const void *map;             /* the manager block, inherited shared mapping */
	const struct mgr_entry *entries; /* in it */
	uint32_t capacity;
	char name[SHMBUS_NAME_MAX + 1]; /* the manager block's own name */
	uint64_t dev, ino;           /* and identity */
};

/* Messages on the socket pair (SOCK_SEQPACKET: one message per send). */
struct mgr_msg {
	char tag;                    /* 'R' ready (guardian), 'S' stop (owner), 'D' done */
	char pad[3];
	int32_t pid;                 /* guardian's pid with 'R' */
};

/*
 * mgr_guardian_spawn - fork the guardian (double fork), wait until it
 * reports ready, and fill m->guardian_pid.  Takes @args (closes the fds in
 * it that the parent must not keep: pidfd, guardian socket end, devnull).
 * Returns 0, -EAGAIN, -ETIMEDOUT, -ECHILD or another -errno.
 */
int mgr_guardian_spawn(struct shmbus_manager *m, struct mgr_guard_args *args);

/*
 * mgr_guardian_stop - tell the guardian that shutdown is complete and
 * wait (bounded) for its confirmation.  Never raises SIGPIPE.
 */
void mgr_guardian_stop(struct shmbus_manager *m);

/*
 * mgr_unlink_same - unlink @name in @dirfd only if it is the object
 * (@dev, @ino).  Returns 0, -ESTALE (another object or none), or -errno.
 * Async-signal-safe.
 */
int mgr_unlink_same(int dirfd, const char *name, uint64_t dev, uint64_t ino);

/*
 * mgr_tmpfile - an unnamed object in @dirfd (O_TMPFILE), @size bytes
 * all reserved, permission bits exactly @mode; fills @st.  Returns the fd
 * (close-on-exec), -EOPNOTSUPP if the file system cannot, or -errno.
 */
int mgr_tmpfile(int dirfd, uint64_t size, mode_t mode, struct stat *st);

/* mgr_link - give the unnamed object @fd the name @name in @dirfd,
 * exclusively.  Returns 0, -EEXIST, or -errno. */
int mgr_link(int fd, int dirfd, const char *name);

/* Kind-specific snapshot of a manager block (snapshot kind_state). */
struct mgr_snap {
	uint32_t state;
	uint32_t capacity;
	shmbus_ident_t owner;
	shmbus_ident_t guardian;
	uint32_t n;                  /* listed entries copied */
	struct mgr_snap_entry {
		struct mgr_item item;
		bool present;        /* the name holds the listed object now */
	} *entries;
};

#endif /* SHMBUS_MANAGER_INTERNAL_H */
