/*
 * Shared declarations of the tundrill node-api addon.
 *
 * The addon does only what JavaScript cannot: TUN access, raw system calls
 * with errno and monotonic time stamps taken in C, blocking calls on their
 * own threads, and a precise timer. Everything else lives in TypeScript.
 */
#ifndef TUNDRILL_COMMON_H
#define TUNDRILL_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <node_api.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Evaluate a node-api call; on failure throw (unless an exception is already
 * pending) and return NULL from the calling napi_callback. */
#define NAPI_OK(env, call)                                                   \
	do {                                                                 \
		if ((call) != napi_ok) {                                     \
			tdr_throw_last_napi_error((env), #call);             \
			return NULL;                                         \
		}                                                            \
	} while (0)

void tdr_throw_last_napi_error(napi_env env, const char *what);

/* Throw a TypeError / Error with a message; return NULL for convenience. */
napi_value tdr_throw_type(napi_env env, const char *msg);
napi_value tdr_throw_error(napi_env env, const char *msg);
/* Throw an Error "<what>: <strerror(err)> (<ENAME>)" with .errno and .code
 * set; tdr_make_errno_error builds it without throwing. */
napi_value tdr_throw_errno(napi_env env, const char *what, int err);
napi_value tdr_make_errno_error(napi_env env, const char *what, int err);

/* ---- clock.c ---------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t tdr_now_ns(void);
/* One step of a busy wait: tells the CPU (and a hypervisor) that this
 * thread spins. */
static inline void tdr_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}
/* Sleep until deadline (CLOCK_MONOTONIC ns): a kernel sleep until shortly
 * before it, then a busy wait for the rest. Returns the wake-up time.
 * Safe against EINTR. */
int64_t tdr_sleep_until(int64_t deadline_ns);
/* Switch the calling thread to SCHED_FIFO for time-critical work (when
 * permitted and not disabled); tdr_rt_leave(result) switches back. */
bool tdr_rt_enter(void);
void tdr_rt_leave(bool entered);
/* Whether real-time scheduling is enabled (and not known to be denied). */
bool tdr_rt_wanted(void);
/* Per-thread setup for threads that take precise time stamps: smallest
 * timer slack. */
void tdr_thread_setup(void);
/* Start a thread with every signal blocked from its first instruction;
 * with realtime, as a SCHED_FIFO thread when permitted. */
int tdr_thread_create(pthread_t *t, bool detached, bool realtime,
		      void *(*fn)(void *), void *arg);
/* A mutex with priority inheritance, for every mutex that threads of
 * different priorities share: an ordinary thread that holds it while a
 * real-time thread waits runs at the waiter's priority until it lets go,
 * instead of waiting for a CPU behind the machine's ordinary load (tens of
 * milliseconds on a busy machine, all of them lost by the waiter). */
void tdr_mutex_init(pthread_mutex_t *m);

/* ---- conversions ------------------------------------------------------ */

napi_value tdr_bigint_i64(napi_env env, int64_t v);
/* Read a bigint or an integral number as int64; false if neither. */
bool tdr_get_i64(napi_env env, napi_value v, int64_t *out);
/* Read an int32 fd argument; throws and returns false on a bad value. */
bool tdr_get_fd(napi_env env, napi_value v, int *out);
/* Pointer and length of a Buffer / TypedArray / DataView / ArrayBuffer. */
bool tdr_get_bytes(napi_env env, napi_value v, void **data, size_t *len);

/* ---- per-environment state, async jobs (pool.c) ----------------------- */

typedef struct tdr_env tdr_env;
typedef struct tdr_job tdr_job;

enum tdr_job_kind { TDR_JOB_SYSCALL, TDR_JOB_TUN_WRITE };

#define TDR_MAX_SYSCALL_ARGS 6

struct tdr_job {
	tdr_job *next;
	enum tdr_job_kind kind;
	tdr_env *env;
	napi_deferred deferred;
	bool keep_alive;       /* counts toward keeping the event loop alive */
	int64_t at_ns;         /* start time, or 0 for "now" */
	/* syscall */
	long nr;
	long args[TDR_MAX_SYSCALL_ARGS];
	napi_ref refs[TDR_MAX_SYSCALL_ARGS + 1]; /* buffers kept alive */
	int nrefs;
	/* Optional progress words shared with JS: [0] = thread id running the
	 * call, [1] = 0 before, 1 inside, 2 after the system call. */
	int32_t *status;
	/* tun write */
	int fd;
	void *data;
	size_t len;
	/* network namespace of the submitting thread (dup'ed fd, or -1) */
	int netns_fd;
	/* results */
	long ret;
	int err;
	int64_t start_ns;
	int64_t end_ns;
};

/* The JS thread entered another network namespace (see jobs.c). */
int tdr_netns_follow(void);

/* Create the per-environment state; called once from module init. */
bool tdr_env_init(napi_env env);
tdr_env *tdr_env_get(napi_env env);
/* Allocate a zeroed job. */
tdr_job *tdr_job_new(enum tdr_job_kind kind);
/* Hand a filled-in job to a native thread and return the promise it
 * settles. Takes ownership of the job (and its napi references) in every
 * case; on failure throws and returns NULL. */
napi_value tdr_job_start(napi_env env, tdr_job *job, const char *what);
/* Release a job that was never started (JS thread). */
void tdr_job_discard(napi_env env, tdr_job *job);

/* ---- packet_socket.c / tun_reader.c ----------------------------------- */

/* Bytes of each sent frame the stamp socket keeps (packetStampSocketOpen):
 * enough for the IP and TCP headers with options, which tell packets apart. */
#define TDR_STAMP_SNAP 128

/* ---- module parts: each adds its exports to `exports` ----------------- */

bool tdr_init_clock(napi_env env, napi_value exports);
bool tdr_init_stall_monitor(napi_env env, napi_value exports);
bool tdr_init_syscall(napi_env env, napi_value exports);
bool tdr_init_tun(napi_env env, napi_value exports);
bool tdr_init_tun_reader(napi_env env, napi_value exports);
bool tdr_init_packet_socket(napi_env env, napi_value exports);
bool tdr_init_symbols(napi_env env, napi_value exports);
bool tdr_init_sock_diag(napi_env env, napi_value exports);
bool tdr_init_spawn(napi_env env, napi_value exports);
bool tdr_init_threadpool(napi_env env, napi_value exports);

/* A packet was read from (inbound 0) or written to (inbound 1) the TUN fd:
 * the socket-state sampler watching that fd queries its socket
 * (sock_diag.c). Cheap; safe from any thread. With `defer`, the sampler's
 * thread is not woken now but by tdr_sockdiag_wake() (or its next request
 * or dump): for the engine's own thread, whose next packet must not wait
 * for a wake-up. */
void tdr_sockdiag_note(int fd, const void *frame, size_t len, int64_t ts, int inbound, bool defer);
void tdr_sockdiag_wake(void);

/* Helper to attach a native function to an object. */
bool tdr_export_fn(napi_env env, napi_value obj, const char *name, napi_callback cb);

/* Symbol tables (symbols.c, symbols_tcp.c). */
struct tdr_sym {
	const char *name;
	int64_t value;
};
extern const struct tdr_sym tdr_tcp_uapi_syms[];
extern const size_t tdr_tcp_uapi_syms_len;

#endif /* TUNDRILL_COMMON_H */
