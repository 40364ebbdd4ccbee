/*
 * Commands the way system(3) starts them: posix_spawn, whose child shares
 * the parent's memory until it execs (CLONE_VM | CLONE_VFORK), instead of
 * Node's spawnSync, which forks: a fork copies the page tables of the whole
 * Node process, and on a virtual machine that made every script command
 * 5-7 ms slower than packetdrill's system() (8-9 ms against 2-5 ms for
 * `sh -c true`). A command in the middle of a script delays everything the
 * script does next while the kernel's timers keep running, so the harness's
 * own cost shows in the kernel's behaviour.
 *
 * spawnWait(path, argv, env, cwd, timeoutMs, maxBuffer) runs on the calling
 * thread, which the child's scheduling policy comes from (commands started
 * while the script's clock runs inherit SCHED_RR 1, as under packetdrill).
 * stdin is /dev/null; stdout and stderr are collected. Every signal has its
 * default action in the child and none is blocked (Node ignores SIGPIPE and
 * its threads block others). At the time limit the child gets SIGTERM, and
 * SIGKILL two seconds later; once it is gone, output still coming from
 * what it left running is read for 100 ms more.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILL_GRACE_NS 2000000000LL
#define DRAIN_NS 100000000LL
#define POLL_MS 20

typedef struct {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
	bool truncated;
} outbuf;

static void outbuf_add(outbuf *b, const char *p, size_t n)
{
	if (b->len + n > b->max) {
		b->truncated = true;
		n = b->max > b->len ? b->max - b->len : 0;
	}
	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d) {
			b->truncated = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* A JS string as a malloc'd C string; NULL (with an exception) on failure. */
static char *get_string(napi_env env, napi_value v)
{
	size_t len;
	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
		tdr_throw_type(env, "spawnWait: expected a string");
		return NULL;
	}
	char *s = malloc(len + 1);
	if (!s) {
		tdr_throw_error(env, "spawnWait: out of memory");
		return NULL;
	}
	napi_get_value_string_utf8(env, v, s, len + 1, &len);
	return s;
}

static void free_strings(char **a)
{
	if (!a)
		return;
	for (char **p = a; *p; p++)
		free(*p);
	free(a);
}

/* A JS array of strings as a NULL-terminated malloc'd array. */
static char **get_string_array(napi_env env, napi_value v)
{
	bool is;
	uint32_t n;
	if (napi_is_array(env, v, &is) != napi_ok || !is || napi_get_array_length(env, v, &n) != napi_ok) {
		tdr_throw_type(env, "spawnWait: expected an array of strings");
		return NULL;
	}
	char **a = calloc((size_t)n + 1, sizeof(char *));
	if (!a) {
		tdr_throw_error(env, "spawnWait: out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		napi_value e;
		if (napi_get_element(env, v, i, &e) != napi_ok || !(a[i] = get_string(env, e))) {
			free_strings(a);
			return NULL;
		}
	}
	return a;
}

static napi_value buffer_of(napi_env env, const outbuf *b)
{
	napi_value v;
	void *data;
	if (napi_create_buffer_copy(env, b->len, b->len ? b->data : "", &data, &v) != napi_ok)
		return NULL;
	return v;
}

/* Read both pipes until both are closed, killing the child at the deadline
 * (0: none). Past the deadline, reading stops DRAIN_NS after the child is
 * gone even if something it started still holds a pipe open. The child is
 * reaped here in that case (*reaped). Returns whether the time limit was
 * reached. */
static bool collect(pid_t pid, int fds[2], outbuf *bufs, int64_t deadline, int *wstatus, bool *reaped)
{
	bool timed_out = false;
	int64_t kill_at = 0, give_up_at = 0;
	char chunk[65536];
	struct pollfd p[2] = { { .fd = fds[0], .events = POLLIN }, { .fd = fds[1], .events = POLLIN } };
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		int wait_ms = -1;
		if (deadline) {
			int64_t now = tdr_now_ns();
			if (timed_out && !*reaped && waitpid(pid, wstatus, WNOHANG) == pid) {
				*reaped = true;
				give_up_at = now + DRAIN_NS;
			}
			if (give_up_at && now >= give_up_at)
				break;
			if (!timed_out && now >= deadline) {
				timed_out = true;
				kill(pid, SIGTERM);
				kill_at = now + KILL_GRACE_NS;
			} else if (kill_at && !*reaped && now >= kill_at) {
				kill(pid, SIGKILL);
				kill_at = 0;
			}
			/* Past the deadline, look again every POLL_MS for the child's end. */
			int64_t next = timed_out ? now + POLL_MS * 1000000LL : deadline;
			wait_ms = next > now ? (int)((next - now + 999999) / 1000000) : 0;
		}
		int n = poll(p, 2, wait_ms);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; n > 0 && i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			ssize_t r = read(p[i].fd, chunk, sizeof(chunk));
			if (r > 0) {
				outbuf_add(&bufs[i], chunk, (size_t)r);
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(p[i].fd);
				p[i].fd = -1;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	return timed_out;
}

/* spawnWait(path, argv, env, cwd, timeoutMs, maxBuffer) ->
 *   { spawnErrno, status, signal, stdout, stderr, timedOut, truncated } */
static napi_value js_spawn_wait(napi_env env, napi_callback_info info)
{
	size_t argc = 6;
	napi_value argv_js[6];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv_js, NULL, NULL));
	if (argc < 6)
		return tdr_throw_type(env, "spawnWait(path, argv, env, cwd, timeoutMs, maxBuffer) needs six arguments");
	int64_t timeout_ms, max_buffer;
	if (!tdr_get_i64(env, argv_js[4], &timeout_ms) || !tdr_get_i64(env, argv_js[5], &max_buffer) ||
	    timeout_ms < 0 || max_buffer < 0)
		return tdr_throw_type(env, "spawnWait: timeoutMs and maxBuffer must be numbers >= 0");

	char *path = NULL, *cwd = NULL;
	char **args = NULL, **envp = NULL;
	napi_value result = NULL;
	if (!(path = get_string(env, argv_js[0])) || !(args = get_string_array(env, argv_js[1])) ||
	    !(envp = get_string_array(env, argv_js[2])) || !(cwd = get_string(env, argv_js[3])))
		goto out;

	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int spawn_errno = 0;
	pid_t pid = -1;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		spawn_errno = errno;
	} else {
		posix_spawn_file_actions_t fa;
		posix_spawnattr_t at;
		sigset_t def, none;
		sigfillset(&def);
		sigdelset(&def, SIGKILL);
		sigdelset(&def, SIGSTOP);
		sigemptyset(&none);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, out[1], 1);
		posix_spawn_file_actions_adddup2(&fa, err[1], 2);
		if (cwd[0])
			posix_spawn_file_actions_addchdir_np(&fa, cwd);
		posix_spawnattr_init(&at);
		posix_spawnattr_setsigdefault(&at, &def);
		posix_spawnattr_setsigmask(&at, &none);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
		spawn_errno = posix_spawn(&pid, path, &fa, &at, args, envp);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&at);
	}
	if (out[1] >= 0)
		close(out[1]);
	if (err[1] >= 0)
		close(err[1]);

	outbuf bufs[2] = { { .max = (size_t)max_buffer }, { .max = (size_t)max_buffer } };
	bool timed_out = false;
	int wstatus = 0;
	if (!spawn_errno) {
		int fds[2] = { out[0], err[0] };
		int64_t deadline = timeout_ms > 0 ? tdr_now_ns() + timeout_ms * 1000000LL : 0;
		bool reaped = false;
		timed_out = collect(pid, fds, bufs, deadline, &wstatus, &reaped);
		out[0] = err[0] = -1; /* closed by collect */
		while (!reaped && waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
	}
	if (out[0] >= 0)
		close(out[0]);
	if (err[0] >= 0)
		close(err[0]);

	napi_value obj, v, nul;
	napi_get_null(env, &nul);
	if (napi_create_object(env, &obj) != napi_ok)
		goto free_bufs;
	napi_create_int32(env, spawn_errno, &v);
	napi_set_named_property(env, obj, "spawnErrno", v);
	if (!spawn_errno && WIFEXITED(wstatus))
		napi_create_int32(env, WEXITSTATUS(wstatus), &v);
	else
		v = nul;
	napi_set_named_property(env, obj, "status", v);
	if (!spawn_errno && WIFSIGNALED(wstatus))
		napi_create_int32(env, WTERMSIG(wstatus), &v);
	else
		v = nul;
	napi_set_named_property(env, obj, "signal", v);
	if (!(v = buffer_of(env, &bufs[0])))
		goto free_bufs;
	napi_set_named_property(env, obj, "stdout", v);
	if (!(v = buffer_of(env, &bufs[1])))
		goto free_bufs;
	napi_set_named_property(env, obj, "stderr", v);
	napi_get_boolean(env, timed_out, &v);
	napi_set_named_property(env, obj, "timedOut", v);
	napi_get_boolean(env, bufs[0].truncated || bufs[1].truncated, &v);
	napi_set_named_property(env, obj, "truncated", v);
	result = obj;
free_bufs:
	free(bufs[0].data);
	free(bufs[1].data);
out:
	free(path);
	free(cwd);
	free_strings(args);
	free_strings(envp);
	return result;
}

bool tdr_init_spawn(napi_env env, napi_value exports)
{
	return tdr_export_fn(env, exports, "spawnWait", js_spawn_wait);
}
