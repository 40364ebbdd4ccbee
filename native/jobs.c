/*
 * Asynchronous jobs: blocking system calls, timed TUN writes and precise
 * sleeps, each run on a native thread of the addon's own pool (never the
 * libuv thread pool, whose few threads a blocking accept() or read() could
 * exhaust). Any number of jobs can be in flight; the pool grows on demand
 * and idle threads exit after a while.
 *
 * Finished jobs are queued per JS environment and handed to the JS thread
 * through one thread-safe function used as a doorbell: one call drains
 * every finished job, so a busy JS thread receives them in one batch.
 *
 * The doorbell is referenced (keeps the event loop alive) only while jobs
 * that ask for it are in flight. When the environment goes away, jobs still
 * running are abandoned: their threads finish the system call, notice the
 * environment is closing and free the job without touching node-api.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define POOL_IDLE_SECONDS 2
#define POOL_MAX_THREADS 512

struct tdr_env {
	pthread_mutex_t mu;
	int refs; /* the environment itself + every started job */
	bool closing;
	bool doorbell_pending;
	napi_threadsafe_function doorbell;
	tdr_job *done_head, *done_tail;
	/* JS thread only */
	uint64_t alive_jobs; /* in-flight jobs with keep_alive */
};

/* ---- worker pool (process-wide) --------------------------------------- */

static pthread_mutex_t pool_mu;
static pthread_cond_t pool_cv;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static tdr_job *queue_head, *queue_tail;
static unsigned pool_threads;  /* threads alive */
static unsigned pool_idle;     /* waiting and not yet woken for a job */
static unsigned pool_wakeups;  /* wake-ups sent, not yet consumed */

/*
 * Network namespaces. A worker process may run one script after another,
 * each in a network namespace of its own that its JS thread enters with
 * unshare(CLONE_NEWNET). Pool threads live longer than one run, so each
 * job carries the namespace its submitter was in (captured by
 * netnsFollow() after every switch) and the pool thread enters it for the
 * job and goes back to the process's first namespace afterwards: no
 * thread keeps a finished run's namespace alive.
 */
static pthread_mutex_t netns_mu;
static int base_netns_fd = -1;    /* the namespace the process started in */
static int current_netns_fd = -1; /* the JS thread's, when it differs */

static int open_own_netns(void)
{
	return open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
}

/* netnsFollow(): the JS thread has changed namespace; jobs submitted from
 * now on run in it. Returns 0 or an errno value. */
int tdr_netns_follow(void)
{
	int fd = open_own_netns();
	if (fd < 0)
		return errno;
	pthread_mutex_lock(&netns_mu);
	if (base_netns_fd < 0) {
		/* First call: the process's own namespace was the base. */
		base_netns_fd = fd;
		fd = -1;
	} else {
		if (current_netns_fd >= 0)
			close(current_netns_fd);
		current_netns_fd = fd;
	}
	pthread_mutex_unlock(&netns_mu);
	return 0;
}

static int job_netns_fd(void)
{
	int fd = -1;
	pthread_mutex_lock(&netns_mu);
	if (current_netns_fd >= 0)
		fd = fcntl(current_netns_fd, F_DUPFD_CLOEXEC, 0);
	pthread_mutex_unlock(&netns_mu);
	return fd;
}

/* Shared by the JS thread, real-time pool threads and pool threads running
 * an untimed call as ordinary threads: priority inheritance (made before
 * any thread can use them, when the addon is loaded). */
__attribute__((constructor)) static void jobs_init_locks(void)
{
	tdr_mutex_init(&pool_mu);
	tdr_mutex_init(&netns_mu);
}

static void pool_init_once(void)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pool_cv, &attr);
	pthread_condattr_destroy(&attr);
}

static void env_unref(tdr_env *e)
{
	pthread_mutex_lock(&e->mu);
	int left = --e->refs;
	pthread_mutex_unlock(&e->mu);
	if (left == 0) {
		pthread_mutex_destroy(&e->mu);
		free(e);
	}
}

tdr_job *tdr_job_new(enum tdr_job_kind kind)
{
	tdr_job *job = calloc(1, sizeof(*job));
	if (job) {
		job->kind = kind;
		job->netns_fd = job_netns_fd();
	}
	return job;
}

static void job_free(tdr_job *job)
{
	if (job->netns_fd >= 0)
		close(job->netns_fd);
	free(job->data);
	free(job);
}

static void job_delete_refs(napi_env env, tdr_job *job)
{
	for (int i = 0; i < job->nrefs; i++)
		napi_delete_reference(env, job->refs[i]);
	job->nrefs = 0;
}

void tdr_job_discard(napi_env env, tdr_job *job)
{
	job_delete_refs(env, job);
	job_free(job);
}

/* Timed work: a precise sleep, then the timed action. */
static bool job_is_timed(const tdr_job *job)
{
	return job->kind != TDR_JOB_SYSCALL || job->at_ns != 0;
}

/*
 * The calling thread's id as the /proc this process sees numbers it: a
 * process in a PID namespace of its own (tundrill's workers) with the
 * host's /proc mounted gets a gettid() that /proc does not list, and
 * /proc/thread-self names the thread in /proc's numbering. gettid() where
 * that link cannot be read.
 */
static int32_t proc_tid(void)
{
	static __thread int32_t tid;
	if (tid)
		return tid;
	char link[64];
	ssize_t n = readlink("/proc/thread-self", link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		const char *t = strstr(link, "/task/");
		if (t)
			tid = (int32_t)strtol(t + 6, NULL, 10);
	}
	if (tid <= 0)
		tid = (int32_t)gettid();
	return tid;
}

static void job_run(tdr_job *job)
{
	switch (job->kind) {
	case TDR_JOB_SYSCALL:
		if (job->status)
			__atomic_store_n(&job->status[0], proc_tid(), __ATOMIC_SEQ_CST);
		if (job->at_ns)
			tdr_sleep_until(job->at_ns);
		if (job->status)
			__atomic_store_n(&job->status[1], 1, __ATOMIC_SEQ_CST);
		job->start_ns = tdr_now_ns();
		job->ret = syscall(job->nr, job->args[0], job->args[1],
				   job->args[2], job->args[3], job->args[4],
				   job->args[5]);
		job->err = job->ret == -1 ? errno : 0;
		job->end_ns = tdr_now_ns();
		if (job->status)
			__atomic_store_n(&job->status[1], 2, __ATOMIC_SEQ_CST);
		break;
	case TDR_JOB_TUN_WRITE:
		if (job->at_ns)
			tdr_sleep_until(job->at_ns);
		do {
			job->start_ns = tdr_now_ns();
			job->ret = write(job->fd, job->data, job->len);
		} while (job->ret == -1 && errno == EINTR);
		job->err = job->ret == -1 ? errno : 0;
		job->end_ns = tdr_now_ns();
		if (job->ret > 0)
			tdr_sockdiag_note(job->fd, job->data, job->len, job->start_ns, 1, false);
		break;
	}
}

static void job_finished(tdr_job *job)
{
	tdr_env *e = job->env;
	pthread_mutex_lock(&e->mu);
	if (e->closing) {
		/* The JS environment is gone: nobody to resolve for. Its napi
		 * references died with it. */
		pthread_mutex_unlock(&e->mu);
		job_free(job);
		env_unref(e);
		return;
	}
	job->next = NULL;
	if (e->done_tail)
		e->done_tail->next = job;
	else
		e->done_head = job;
	e->done_tail = job;
	if (!e->doorbell_pending) {
		e->doorbell_pending = true;
		/* Unbounded queue: never blocks. Called under e->mu so that
		 * the environment's cleanup cannot slip in between. */
		napi_call_threadsafe_function(e->doorbell, NULL,
					      napi_tsfn_nonblocking);
	}
	pthread_mutex_unlock(&e->mu);
}

/*
 * Idle workers wait as real-time threads (when permitted) so that a job is
 * picked up at once even when every CPU is busy; a worker switches to an
 * ordinary thread for untimed system calls, which may run for long, and
 * back when done.
 */
static void *pool_worker(void *arg)
{
	(void)arg;
	tdr_thread_setup();
	bool rt = tdr_rt_enter();
	pthread_mutex_lock(&pool_mu);
	for (;;) {
		while (!queue_head) {
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += POOL_IDLE_SECONDS;
			pool_idle++;
			int rc = 0;
			while (pool_wakeups == 0 && rc != ETIMEDOUT)
				rc = pthread_cond_timedwait(&pool_cv, &pool_mu,
							    &until);
			if (pool_wakeups > 0) {
				/* pool_idle was decremented by the waker. */
				pool_wakeups--;
				continue;
			}
			pool_idle--;
			if (!queue_head) {
				pool_threads--;
				pthread_mutex_unlock(&pool_mu);
				return NULL;
			}
		}
		tdr_job *job = queue_head;
		queue_head = job->next;
		if (!queue_head)
			queue_tail = NULL;
		pthread_mutex_unlock(&pool_mu);

		if (rt && !(job_is_timed(job) && tdr_rt_wanted())) {
			tdr_rt_leave(rt);
			rt = false;
		}
		bool moved = false;
		if (job->netns_fd >= 0) {
			moved = setns(job->netns_fd, CLONE_NEWNET) == 0;
			close(job->netns_fd);
			job->netns_fd = -1;
		}
		job_run(job);
		if (moved && base_netns_fd >= 0)
			setns(base_netns_fd, CLONE_NEWNET);
		job_finished(job);
		if (!rt)
			rt = tdr_rt_enter();

		pthread_mutex_lock(&pool_mu);
	}
}

/* Returns 0 or an errno value (then the job is not queued). */
static int pool_submit(tdr_job *job)
{
	pthread_once(&pool_once, pool_init_once);
	pthread_mutex_lock(&pool_mu);
	job->next = NULL;
	tdr_job *prev_tail = queue_tail;
	if (queue_tail)
		queue_tail->next = job;
	else
		queue_head = job;
	queue_tail = job;

	int rc = 0;
	if (pool_idle > 0) {
		pool_idle--;
		pool_wakeups++;
		pthread_cond_signal(&pool_cv);
	} else if (pool_threads >= POOL_MAX_THREADS) {
		rc = EAGAIN;
	} else {
		pthread_t t;
		rc = tdr_thread_create(&t, true, true, pool_worker, NULL);
		if (rc == 0)
			pool_threads++;
	}
	if (rc) {
		/* Take the job back out: it is the queue's tail. */
		queue_tail = prev_tail;
		if (prev_tail)
			prev_tail->next = NULL;
		else
			queue_head = NULL;
	}
	pthread_mutex_unlock(&pool_mu);
	return rc;
}

/* ---- results on the JS thread ----------------------------------------- */

static bool set_prop(napi_env env, napi_value obj, const char *name, napi_value v)
{
	return v && napi_set_named_property(env, obj, name, v) == napi_ok;
}

static napi_value int32_value(napi_env env, int32_t v)
{
	napi_value out;
	return napi_create_int32(env, v, &out) == napi_ok ? out : NULL;
}

static napi_value job_result(napi_env env, tdr_job *job)
{
	napi_value obj;
	switch (job->kind) {
	case TDR_JOB_SYSCALL:
		if (napi_create_object(env, &obj) != napi_ok ||
		    !set_prop(env, obj, "ret", tdr_bigint_i64(env, job->ret)) ||
		    !set_prop(env, obj, "errno", int32_value(env, job->err)) ||
		    !set_prop(env, obj, "startNs", tdr_bigint_i64(env, job->start_ns)) ||
		    !set_prop(env, obj, "endNs", tdr_bigint_i64(env, job->end_ns)))
			return NULL;
		return obj;
	case TDR_JOB_TUN_WRITE:
		if (napi_create_object(env, &obj) != napi_ok ||
		    !set_prop(env, obj, "tsNs", tdr_bigint_i64(env, job->start_ns)) ||
		    !set_prop(env, obj, "ret", int32_value(env, (int32_t)job->ret)) ||
		    !set_prop(env, obj, "errno", int32_value(env, job->err)))
			return NULL;
		return obj;
	}
	return NULL;
}

static void doorbell_call_js(napi_env env, napi_value js_cb, void *context, void *data)
{
	(void)js_cb;
	(void)data;
	tdr_env *e = context;
	if (env == NULL)
		return; /* environment being torn down */

	pthread_mutex_lock(&e->mu);
	tdr_job *job = e->done_head;
	e->done_head = e->done_tail = NULL;
	e->doorbell_pending = false;
	pthread_mutex_unlock(&e->mu);

	while (job) {
		tdr_job *next = job->next;
		napi_handle_scope scope;
		bool scoped = napi_open_handle_scope(env, &scope) == napi_ok;
		napi_value result = job_result(env, job);
		if (result) {
			napi_resolve_deferred(env, job->deferred, result);
		} else {
			napi_value err = tdr_make_errno_error(env, "tundrill job result", ENOMEM);
			if (!err)
				napi_get_undefined(env, &err);
			napi_reject_deferred(env, job->deferred, err);
		}
		if (scoped)
			napi_close_handle_scope(env, scope);
		job_delete_refs(env, job);
		if (job->keep_alive && --e->alive_jobs == 0)
			napi_unref_threadsafe_function(env, e->doorbell);
		job_free(job);
		env_unref(e);
		job = next;
	}
}

static void env_cleanup(void *arg)
{
	tdr_env *e = arg;
	pthread_mutex_lock(&e->mu);
	e->closing = true;
	tdr_job *job = e->done_head;
	e->done_head = e->done_tail = NULL;
	pthread_mutex_unlock(&e->mu);
	while (job) {
		tdr_job *next = job->next;
		job_free(job);
		env_unref(e);
		job = next;
	}
	env_unref(e);
}

bool tdr_env_init(napi_env env)
{
	tdr_env *e = calloc(1, sizeof(*e));
	if (!e)
		return false;
	tdr_mutex_init(&e->mu);
	e->refs = 1;
	napi_value name;
	if (napi_create_string_utf8(env, "tundrill.jobs", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, e,
					    doorbell_call_js, &e->doorbell) != napi_ok) {
		pthread_mutex_destroy(&e->mu);
		free(e);
		return false;
	}
	napi_unref_threadsafe_function(env, e->doorbell);
	/* Registered after the thread-safe function, so it runs before the
	 * function is closed at teardown (cleanup hooks run in reverse). */
	if (napi_add_env_cleanup_hook(env, env_cleanup, e) != napi_ok ||
	    napi_set_instance_data(env, e, NULL, NULL) != napi_ok)
		return false;
	return true;
}

tdr_env *tdr_env_get(napi_env env)
{
	void *data = NULL;
	if (napi_get_instance_data(env, &data) != napi_ok)
		return NULL;
	return data;
}

napi_value tdr_job_start(napi_env env, tdr_job *job, const char *what)
{
	tdr_env *e = tdr_env_get(env);
	napi_value promise;
	if (!e || napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
		tdr_job_discard(env, job);
		tdr_throw_last_napi_error(env, what);
		return NULL;
	}
	job->env = e;
	pthread_mutex_lock(&e->mu);
	e->refs++;
	pthread_mutex_unlock(&e->mu);
	if (job->keep_alive && e->alive_jobs++ == 0)
		napi_ref_threadsafe_function(env, e->doorbell);

	int err = pool_submit(job);
	if (err) {
		if (job->keep_alive && --e->alive_jobs == 0)
			napi_unref_threadsafe_function(env, e->doorbell);
		napi_value ev = tdr_make_errno_error(env, what, err);
		if (!ev)
			napi_get_undefined(env, &ev);
		napi_reject_deferred(env, job->deferred, ev);
		tdr_job_discard(env, job);
		env_unref(e);
	}
	return promise;
}
