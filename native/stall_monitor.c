/*
 * Stall monitor: a real-time thread that wakes every period (absolute
 * clock_nanosleep on CLOCK_MONOTONIC) and notes every wake-up whose timer
 * fired later than a threshold. A wake-up is late for one of two reasons:
 * the thread's timer fired late, because the machine itself did not run
 * (a virtual machine whose host did not schedule it, for one), or the
 * timer fired on time and the thread then waited for a CPU. The kernel
 * counts the second as the thread's run delay (/proc/thread-self/schedstat):
 * what is left of the lateness once that wait is taken off is a stall of
 * the machine. Packet and system-call times measured during such a stall
 * are the machine's, not the kernel under test's; the engine uses these
 * intervals to say so.
 *
 * The thread runs below the runs' engines and their native threads, so
 * that it never takes a CPU from them: at the top, its wake-ups (1000 a
 * second) held the engine back often enough to double the 90th percentile
 * of a packet's answer time (see STALL_PRIORITY). It runs above the
 * scripts' commands and ordinary load, so that its waits for a CPU stay
 * short. Where the kernel keeps no run delay (no CONFIG_SCHED_INFO), a
 * wait for a CPU cannot be told from a stall, and the thread runs above
 * every thread of the runs instead (STALL_PRIORITY_ALONE), as it did
 * before.
 *
 * One monitor per process, started and stopped with a count (one run per
 * worker process; a library user may run several). Stalls are kept in a
 * ring of the last STALL_RING; stallMonitorStalls(fromNs, toNs) returns
 * those that overlap a window.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define STALL_RING 1024
/*
 * SCHED_FIFO 2: below the engine's JavaScript thread (SCHED_RR 3 while a
 * script's clock runs, engine/priority.ts) and the reader and job threads
 * (rt_priority, 10 by default), above the scripts' commands (SCHED_RR 1)
 * and the sampler's queries (SCHED_FIFO 1). On inbound-data-acked.pkt
 * (200 packets, each answered by the kernel, the next line 1 ms after the
 * answer), how long after the kernel's packet the next line started, over
 * each of three variants: p90 99-354 us over 6 runs with the monitor at
 * 40, 50-143 us over 18 runs with no monitor (one run 222 us), 52-144 us
 * over 12 runs with it below the engine.
 */
#define STALL_PRIORITY 2
/* Without run delays: above every thread of the runs. */
#define STALL_PRIORITY_ALONE 40

typedef struct {
	int64_t from_ns; /* when the thread should have woken */
	int64_t to_ns;   /* when it did */
} stall;

static pthread_mutex_t mu;

__attribute__((constructor)) static void stall_monitor_init_lock(void)
{
	tdr_mutex_init(&mu);
}
static pthread_t thread;
static int users;
static bool running;
static bool realtime;
static int wake_fd = -1;
static int64_t period_ns = 1000000;
static int64_t threshold_ns = 1000000;
static stall ring[STALL_RING];
static uint64_t count; /* stalls noted since the start */
static uint64_t wakeups;
static uint64_t cpu_waits; /* late wake-ups that were waits for a CPU */
static bool run_delays;   /* the kernel keeps run delays: waits can be told from stalls */

/* The calling thread's run delay so far (ns), from an open schedstat fd; -1 when unknown. */
static int64_t run_delay_ns(int fd)
{
	char buf[128];
	ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* "<on-CPU ns> <run delay ns> <timeslices>" */
	char *p = buf, *end;
	(void)strtoll(p, &end, 10);
	if (end == p)
		return -1;
	p = end;
	long long d = strtoll(p, &end, 10);
	return end == p ? -1 : (int64_t)d;
}

static void *monitor_main(void *arg)
{
	(void)arg;
	tdr_thread_setup();
	struct pollfd pfd = { .fd = wake_fd, .events = POLLIN };
	int sfd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	int64_t delay_before = run_delay_ns(sfd);
	int64_t next = tdr_now_ns();
	for (;;) {
		next += period_ns;
		struct timespec ts = {
			.tv_sec = (time_t)(next / 1000000000LL),
			.tv_nsec = (long)(next % 1000000000LL),
		};
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		int64_t now = tdr_now_ns();
		if (poll(&pfd, 1, 0) > 0)
			break;
		int64_t late = now - next;
		/* The wait for a CPU since the last wake-up: this one's (one pread). */
		int64_t delay = run_delay_ns(sfd);
		int64_t waited = delay >= 0 && delay_before >= 0 ? delay - delay_before : 0;
		delay_before = delay;
		pthread_mutex_lock(&mu);
		wakeups++;
		if (late > threshold_ns && late - waited > threshold_ns) {
			ring[count % STALL_RING] = (stall){ .from_ns = next, .to_ns = next + (late - waited) };
			count++;
		} else if (late > threshold_ns) {
			cpu_waits++;
		}
		pthread_mutex_unlock(&mu);
		/* After a stall, go on from now rather than catching up. */
		if (late > period_ns)
			next = now;
	}
	if (sfd >= 0)
		close(sfd);
	return NULL;
}

/* stallMonitorStart(periodUs, thresholdUs) -> { realtime } */
static napi_value js_start(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	int64_t period_us, threshold_us;
	if (argc < 2 || napi_get_value_int64(env, argv[0], &period_us) != napi_ok ||
	    napi_get_value_int64(env, argv[1], &threshold_us) != napi_ok || period_us < 100 ||
	    threshold_us < 100)
		return tdr_throw_type(env, "stallMonitorStart(periodUs, thresholdUs): numbers of at least 100");
	pthread_mutex_lock(&mu);
	if (users++ == 0) {
		period_ns = period_us * 1000;
		threshold_ns = threshold_us * 1000;
		count = 0;
		wakeups = 0;
		cpu_waits = 0;
		wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		int rc = wake_fd < 0 ? errno : 0;
		if (!rc) {
			/* Its own priority, above the run's other threads; not
			 * permitted here: an ordinary thread, and stalls then
			 * include this machine's own CPU contention. */
			rc = tdr_thread_create(&thread, false, true, monitor_main, NULL);
			realtime = false;
			if (!rc) {
				/* Run delays kept: below the engines; else above everything. */
				run_delays = access("/proc/self/schedstat", R_OK) == 0;
				struct sched_param sp = { .sched_priority = run_delays ? STALL_PRIORITY : STALL_PRIORITY_ALONE };
				realtime = tdr_rt_wanted() &&
					   pthread_setschedparam(thread, SCHED_FIFO, &sp) == 0;
			}
		}
		if (rc) {
			if (wake_fd >= 0)
				close(wake_fd);
			wake_fd = -1;
			users = 0;
			pthread_mutex_unlock(&mu);
			return tdr_throw_errno(env, "stallMonitorStart", rc);
		}
		running = true;
	}
	bool rt = realtime;
	pthread_mutex_unlock(&mu);
	napi_value out, v;
	NAPI_OK(env, napi_create_object(env, &out));
	NAPI_OK(env, napi_get_boolean(env, rt, &v));
	NAPI_OK(env, napi_set_named_property(env, out, "realtime", v));
	return out;
}

/* stallMonitorStop(): the last user stops the thread. */
static napi_value js_stop(napi_env env, napi_callback_info info)
{
	(void)info;
	pthread_mutex_lock(&mu);
	bool last = users > 0 && --users == 0 && running;
	if (last)
		running = false;
	pthread_mutex_unlock(&mu);
	if (last) {
		uint64_t one = 1;
		ssize_t w;
		do {
			w = write(wake_fd, &one, sizeof(one));
		} while (w < 0 && errno == EINTR);
		pthread_join(thread, NULL);
		close(wake_fd);
		wake_fd = -1;
	}
	napi_value undef;
	NAPI_OK(env, napi_get_undefined(env, &undef));
	return undef;
}

/* stallMonitorStalls(fromNs, toNs) -> { stalls: [[fromNs, toNs], ...], wakeups, running, realtime, cpuWaits, runDelays } */
static napi_value js_stalls(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	int64_t from, to;
	if (argc < 2 || !tdr_get_i64(env, argv[0], &from) || !tdr_get_i64(env, argv[1], &to))
		return tdr_throw_type(env, "stallMonitorStalls(fromNs, toNs): bigints");
	napi_value out, arr, v;
	NAPI_OK(env, napi_create_object(env, &out));
	NAPI_OK(env, napi_create_array(env, &arr));
	pthread_mutex_lock(&mu);
	uint64_t first = count > STALL_RING ? count - STALL_RING : 0;
	uint32_t n = 0;
	bool ok = true;
	for (uint64_t i = first; i < count && ok; i++) {
		stall s = ring[i % STALL_RING];
		if (s.to_ns < from || s.from_ns > to)
			continue;
		napi_value pair, a, b;
		ok = napi_create_array_with_length(env, 2, &pair) == napi_ok &&
		     napi_create_bigint_int64(env, s.from_ns, &a) == napi_ok &&
		     napi_create_bigint_int64(env, s.to_ns, &b) == napi_ok &&
		     napi_set_element(env, pair, 0, a) == napi_ok &&
		     napi_set_element(env, pair, 1, b) == napi_ok &&
		     napi_set_element(env, arr, n++, pair) == napi_ok;
	}
	double w = (double)wakeups;
	double cw = (double)cpu_waits;
	bool r = running;
	bool rt = realtime;
	bool rd = run_delays;
	pthread_mutex_unlock(&mu);
	if (!ok) {
		tdr_throw_last_napi_error(env, "stallMonitorStalls");
		return NULL;
	}
	NAPI_OK(env, napi_set_named_property(env, out, "stalls", arr));
	NAPI_OK(env, napi_create_double(env, w, &v));
	NAPI_OK(env, napi_set_named_property(env, out, "wakeups", v));
	NAPI_OK(env, napi_get_boolean(env, r, &v));
	NAPI_OK(env, napi_set_named_property(env, out, "running", v));
	NAPI_OK(env, napi_get_boolean(env, rt, &v));
	NAPI_OK(env, napi_set_named_property(env, out, "realtime", v));
	NAPI_OK(env, napi_create_double(env, cw, &v));
	NAPI_OK(env, napi_set_named_property(env, out, "cpuWaits", v));
	NAPI_OK(env, napi_get_boolean(env, rd, &v));
	NAPI_OK(env, napi_set_named_property(env, out, "runDelays", v));
	return out;
}

bool tdr_init_stall_monitor(napi_env env, napi_value exports)
{
	return tdr_export_fn(env, exports, "stallMonitorStart", js_start) &&
	       tdr_export_fn(env, exports, "stallMonitorStop", js_stop) &&
	       tdr_export_fn(env, exports, "stallMonitorStalls", js_stalls);
}
