/*
 * Real-time priority for libuv's thread pool.
 *
 * The pool's threads write the evidence files (fs.write) while a script
 * runs. A thread that finishes a task takes the event loop's work-queue
 * mutex, queues the result and wakes the loop's thread inside the lock.
 * That thread is the engine, at real-time priority: it preempts the pool
 * thread on its CPU while the mutex is still held, then blocks on the mutex
 * in uv__work_done, and an ordinary pool thread holding it runs again only
 * when the machine's ordinary load lets it. In a perf trace of both corpora
 * the engine blocked so 171 times; a kernel scheduler trace showed such
 * waits of up to 2.6 ms. With the pool's threads at the lowest real-time
 * level, the holder gets its CPU back as soon as the engine blocks, and the
 * wait is microseconds.
 *
 * threadpoolRealtime(threads, priority) -> Promise<number>: queues
 * `threads` tasks (the pool's size), each of which sets its own thread to
 * SCHED_FIFO `priority` and then waits, up to BARRIER_NS, until every
 * task has started: a task that waits holds its thread, so each one runs on
 * a thread of its own. Resolves with how many threads were raised (0 where
 * real-time scheduling is not permitted).
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#define BARRIER_NS 200000000LL
#define MAX_THREADS 1024

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started;
	int raised;
	int total;
	int finished; /* completions seen on the JS thread */
	int priority;
	napi_deferred deferred;
	napi_async_work works[];
} pool_raise;

static void raise_execute(napi_env env, void *data)
{
	(void)env;
	pool_raise *p = data;
	struct sched_param sp = { .sched_priority = p->priority };
	bool ok = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t until = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + BARRIER_NS;
	ts.tv_sec = (time_t)(until / 1000000000LL);
	ts.tv_nsec = (long)(until % 1000000000LL);
	pthread_mutex_lock(&p->mu);
	p->started++;
	if (ok)
		p->raised++;
	if (p->started == p->total)
		pthread_cond_broadcast(&p->cv);
	while (p->started < p->total)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&p->mu);
}

static void raise_complete(napi_env env, napi_status status, void *data)
{
	(void)status;
	pool_raise *p = data;
	if (++p->finished < p->total)
		return;
	napi_value n;
	if (napi_create_int32(env, p->raised, &n) == napi_ok)
		napi_resolve_deferred(env, p->deferred, n);
	for (int i = 0; i < p->total; i++)
		napi_delete_async_work(env, p->works[i]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static napi_value js_threadpool_realtime(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	int32_t threads, priority;
	if (argc < 2 || napi_get_value_int32(env, argv[0], &threads) != napi_ok ||
	    napi_get_value_int32(env, argv[1], &priority) != napi_ok ||
	    threads < 1 || threads > MAX_THREADS || priority < 1 || priority > 99)
		return tdr_throw_type(env, "threadpoolRealtime(threads, priority): threads 1..1024, priority 1..99");
	pool_raise *p = calloc(1, sizeof(*p) + (size_t)threads * sizeof(napi_async_work));
	if (!p)
		return tdr_throw_error(env, "threadpoolRealtime: out of memory");
	p->total = threads;
	p->priority = priority;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	napi_value promise, name;
	if (napi_create_promise(env, &p->deferred, &promise) != napi_ok ||
	    napi_create_string_utf8(env, "tundrill.threadpoolRealtime", NAPI_AUTO_LENGTH, &name) != napi_ok) {
		free(p);
		tdr_throw_last_napi_error(env, "threadpoolRealtime");
		return NULL;
	}
	int made = 0;
	for (; made < threads; made++)
		if (napi_create_async_work(env, NULL, name, raise_execute, raise_complete, p, &p->works[made]) != napi_ok)
			break;
	if (made < threads) {
		/* Nothing queued yet: undo and fail. */
		for (int i = 0; i < made; i++)
			napi_delete_async_work(env, p->works[i]);
		napi_value err;
		napi_create_string_utf8(env, "threadpoolRealtime: cannot create the tasks", NAPI_AUTO_LENGTH, &err);
		napi_value e;
		napi_create_error(env, NULL, err, &e);
		napi_reject_deferred(env, p->deferred, e);
		free(p);
		return promise;
	}
	int queued = 0;
	while (queued < threads && napi_queue_async_work(env, p->works[queued]) == napi_ok)
		queued++;
	if (queued < threads) {
		/* The tasks already queued stop waiting for the others and settle
		 * the promise; the rest are dropped. */
		for (int i = queued; i < threads; i++)
			napi_delete_async_work(env, p->works[i]);
		pthread_mutex_lock(&p->mu);
		p->total = queued;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (queued == 0) {
			napi_value msg, e;
			napi_create_string_utf8(env, "threadpoolRealtime: cannot queue the tasks", NAPI_AUTO_LENGTH, &msg);
			napi_create_error(env, NULL, msg, &e);
			napi_reject_deferred(env, p->deferred, e);
			pthread_cond_destroy(&p->cv);
			pthread_mutex_destroy(&p->mu);
			free(p);
		}
	}
	return promise;
}

bool tdr_init_threadpool(napi_env env, napi_value exports)
{
	return tdr_export_fn(env, exports, "threadpoolRealtime", js_threadpool_realtime);
}
