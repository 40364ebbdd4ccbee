/*
 * Monotonic clock, precise sleeping, and setup of the addon's own threads.
 */
#include "common.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <time.h>

/* A kernel sleep wakes up late by the scheduler's wake-up latency; sleeping
 * until this long before a deadline and busy-waiting for the rest puts the
 * wake-up within a few microseconds of it. */
#define SPIN_NS 50000LL

/* SCHED_FIFO priority for time-critical work, 0 for none. On a busy machine
 * a SCHED_OTHER thread can wake milliseconds late (it waits for the running
 * task's time slice); a real-time thread preempts at once. */
static atomic_int rt_priority = 10;
static atomic_bool rt_denied; /* not permitted here: stop asking */

bool tdr_rt_enter(void)
{
	int prio = atomic_load(&rt_priority);
	if (prio <= 0 || atomic_load(&rt_denied))
		return false;
	struct sched_param sp = { .sched_priority = prio };
	int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (rc == EPERM)
		atomic_store(&rt_denied, true);
	return rc == 0;
}

bool tdr_rt_wanted(void)
{
	return atomic_load(&rt_priority) > 0 && !atomic_load(&rt_denied);
}

void tdr_rt_leave(bool entered)
{
	if (!entered)
		return;
	struct sched_param sp = { .sched_priority = 0 };
	pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
}

int64_t tdr_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t tdr_sleep_until(int64_t deadline_ns)
{
	int64_t now = tdr_now_ns();
	int64_t wake = deadline_ns - SPIN_NS;
	if (now < wake) {
		struct timespec ts = {
			.tv_sec = (time_t)(wake / 1000000000LL),
			.tv_nsec = (long)(wake % 1000000000LL),
		};
		/* Returns an error number rather than setting errno. */
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
		       EINTR)
			;
		now = tdr_now_ns();
	}
	while (now < deadline_ns) {
		tdr_cpu_relax();
		now = tdr_now_ns();
	}
	return now;
}

void tdr_thread_setup(void)
{
	/* 1 ns timer slack (the default is 50 us) so kernel sleeps end on
	 * time. Failure only costs precision. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

void tdr_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	/* Fails only where the kernel has no PI futexes; a plain mutex then. */
	(void)pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	if (pthread_mutex_init(m, &a) != 0)
		pthread_mutex_init(m, NULL);
	pthread_mutexattr_destroy(&a);
}

int tdr_thread_create(pthread_t *t, bool detached, bool realtime,
		      void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int rc;

	sigfillset(&all);
	rc = pthread_attr_init(&attr);
	if (rc)
		return rc;
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int prio = atomic_load(&rt_priority);
	bool rt = realtime && prio > 0 && !atomic_load(&rt_denied);
	if (rt) {
		/* Real-time from the start: a new thread need not wait for
		 * a time slice before it can even switch. */
		struct sched_param sp = { .sched_priority = prio };
		pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
		pthread_attr_setschedparam(&attr, &sp);
	}
	/* Signals stay blocked in the new thread: they go to the JS thread,
	 * and the system calls run here never fail with EINTR because of an
	 * unrelated signal (e.g. SIGCHLD from a shell command). */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, &attr, fn, arg);
	if (rc == EPERM && rt) {
		atomic_store(&rt_denied, true);
		pthread_attr_setinheritsched(&attr, PTHREAD_INHERIT_SCHED);
		rc = pthread_create(t, &attr, fn, arg);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return rc;
}

/* ---- JS: nowNs(), spinUntil(deadlineNs), sleepUntil(deadlineNs), setRealtimePriority(priority) */

static napi_value js_now_ns(napi_env env, napi_callback_info info)
{
	(void)info;
	return tdr_bigint_i64(env, tdr_now_ns());
}

/* spinUntil(deadlineNs) -> bigint: spin on the clock until CLOCK_MONOTONIC
 * reaches the deadline (at most SPIN_MAX_NS ahead), and return the time
 * reached: the engine's last microseconds before an event, with no
 * JavaScript running (a JavaScript loop on nowNs() allocates at every
 * turn, and its page faults stretched one spin in five). While more than
 * SPIN_YIELD_NS are left it yields every SPIN_YIELD_NS, so that another
 * thread of the same real-time level (another run's engine) whose event
 * is due does not wait for the whole spin. */
#define SPIN_MAX_NS 10000000LL
#define SPIN_YIELD_NS 10000LL

/* The one argument of spinUntil and sleepUntil: a deadline at most max_ns
 * from now. Throws a TypeError and returns false otherwise. */
static bool deadline_arg(napi_env env, napi_callback_info info, const char *usage,
			 const char *too_far, int64_t max_ns, int64_t *deadline, int64_t *now)
{
	size_t argc = 1;
	napi_value argv[1];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
		tdr_throw_last_napi_error(env, usage);
		return false;
	}
	if (argc < 1 || !tdr_get_i64(env, argv[0], deadline)) {
		tdr_throw_type(env, usage);
		return false;
	}
	*now = tdr_now_ns();
	if (*deadline - *now > max_ns) {
		tdr_throw_type(env, too_far);
		return false;
	}
	return true;
}

static napi_value js_spin_until(napi_env env, napi_callback_info info)
{
	int64_t deadline, now;
	if (!deadline_arg(env, info, "spinUntil(deadlineNs): deadlineNs must be a bigint",
			  "spinUntil(deadlineNs): the deadline is more than 10 ms away; sleep first",
			  SPIN_MAX_NS, &deadline, &now))
		return NULL;
	int64_t yielded = now;
	while (now < deadline) {
		if (now - yielded > SPIN_YIELD_NS && deadline - now > SPIN_YIELD_NS) {
			sched_yield();
			yielded = now;
		}
		now = tdr_now_ns();
	}
	return tdr_bigint_i64(env, now);
}

/* sleepUntil(deadlineNs) -> bigint: sleep the calling thread until
 * CLOCK_MONOTONIC reaches the deadline (at most SLEEP_MAX_NS ahead), and
 * return the time it woke at. The engine's timed waits use it, not
 * Atomics.wait: V8 implements that wait with one mutex for the whole
 * process, which its background threads (ordinary priority) take to wake
 * the waiting thread for an interrupt. The engine, at real-time priority,
 * then preempts that thread while it still holds the mutex, blocks on it,
 * and waits until an ordinary thread gets a CPU again: an injection 7.9 ms
 * late in a corpus run, in a scheduler trace. clock_nanosleep takes no
 * lock in user space. A signal does not end the sleep early. */
#define SLEEP_MAX_NS 1000000000LL

static napi_value js_sleep_until(napi_env env, napi_callback_info info)
{
	int64_t deadline, now;
	if (!deadline_arg(env, info, "sleepUntil(deadlineNs): deadlineNs must be a bigint",
			  "sleepUntil(deadlineNs): the deadline is more than 1 s away",
			  SLEEP_MAX_NS, &deadline, &now))
		return NULL;
	if (deadline > now) {
		struct timespec ts = {
			.tv_sec = (time_t)(deadline / 1000000000LL),
			.tv_nsec = (long)(deadline % 1000000000LL),
		};
		/* Returns an error number rather than setting errno. */
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		now = tdr_now_ns();
	}
	return tdr_bigint_i64(env, now);
}

/* setRealtimePriority(priority): SCHED_FIFO priority of the time-critical
 * threads (1..99), 0 to run them as ordinary threads. Returns whether
 * real-time scheduling is permitted here (as far as known). */
static napi_value js_set_rt_priority(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	int32_t prio;
	if (argc < 1 || napi_get_value_int32(env, argv[0], &prio) != napi_ok ||
	    prio < 0 || prio > 99)
		return tdr_throw_type(env, "setRealtimePriority(priority): priority must be 0..99");
	atomic_store(&rt_priority, prio);
	napi_value out;
	NAPI_OK(env, napi_get_boolean(env, !atomic_load(&rt_denied), &out));
	return out;
}

bool tdr_init_clock(napi_env env, napi_value exports)
{
	return tdr_export_fn(env, exports, "nowNs", js_now_ns) &&
	       tdr_export_fn(env, exports, "spinUntil", js_spin_until) &&
	       tdr_export_fn(env, exports, "sleepUntil", js_sleep_until) &&
	       tdr_export_fn(env, exports, "setRealtimePriority", js_set_rt_priority);
}
