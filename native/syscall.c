/*
 * Raw system calls: syscall(nr, args) on the JS thread, syscallAsync(nr,
 * args, atNs, keepAlive) on a native thread, and addressOf(buffer) so that
 * TypeScript can lay out structures (iovec, msghdr, pollfd, ...) that point
 * at other buffers.
 *
 * Arguments: a bigint or integral number is passed as is, a Buffer (any
 * TypedArray, DataView or ArrayBuffer) as a pointer to its bytes, null or
 * undefined as 0.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

/* Convert one argument; with refs != NULL, byte buffers are referenced so
 * that they outlive the call. Throws on a bad argument. */
static bool convert_arg(napi_env env, napi_value v, size_t index, long *out,
			napi_ref *refs, int *nrefs)
{
	napi_valuetype t;
	if (napi_typeof(env, v, &t) != napi_ok)
		return false;
	if (t == napi_undefined || t == napi_null) {
		*out = 0;
		return true;
	}
	if (t == napi_bigint || t == napi_number) {
		int64_t i;
		if (!tdr_get_i64(env, v, &i)) {
			char msg[96];
			snprintf(msg, sizeof(msg),
				 "syscall argument %zu is not a 64-bit integer", index);
			tdr_throw_type(env, msg);
			return false;
		}
		*out = (long)i;
		return true;
	}
	void *data;
	size_t len;
	if (t == napi_object && tdr_get_bytes(env, v, &data, &len)) {
		if (refs) {
			if (napi_create_reference(env, v, 1, &refs[*nrefs]) != napi_ok)
				return false;
			(*nrefs)++;
		}
		*out = (long)(uintptr_t)data;
		return true;
	}
	char msg[128];
	snprintf(msg, sizeof(msg),
		 "syscall argument %zu must be a bigint, number, Buffer or null", index);
	tdr_throw_type(env, msg);
	return false;
}

/* Parses (nr, args[]) into the job; throws on error. */
static bool parse_call(napi_env env, napi_value nr_v, napi_value args_v,
		       tdr_job *job, bool keep_refs)
{
	int64_t nr;
	if (!tdr_get_i64(env, nr_v, &nr) || nr < 0 || nr > 100000) {
		tdr_throw_type(env, "syscall number must be a non-negative integer");
		return false;
	}
	job->nr = (long)nr;
	bool is_array;
	uint32_t n;
	if (napi_is_array(env, args_v, &is_array) != napi_ok || !is_array) {
		tdr_throw_type(env, "syscall arguments must be an array");
		return false;
	}
	if (napi_get_array_length(env, args_v, &n) != napi_ok)
		return false;
	if (n > TDR_MAX_SYSCALL_ARGS) {
		tdr_throw_type(env, "a system call takes at most 6 arguments");
		return false;
	}
	for (uint32_t i = 0; i < n; i++) {
		napi_value a;
		if (napi_get_element(env, args_v, i, &a) != napi_ok ||
		    !convert_arg(env, a, i, &job->args[i],
				 keep_refs ? job->refs : NULL, &job->nrefs))
			return false;
	}
	return true;
}

static napi_value js_syscall(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 2)
		return tdr_throw_type(env, "syscall(nr, args) needs two arguments");
	tdr_job call = { 0 };
	if (!parse_call(env, argv[0], argv[1], &call, false))
		return NULL;

	int64_t start = tdr_now_ns();
	long ret = syscall(call.nr, call.args[0], call.args[1], call.args[2],
			   call.args[3], call.args[4], call.args[5]);
	int err = ret == -1 ? errno : 0;
	int64_t end = tdr_now_ns();

	napi_value obj, v;
	NAPI_OK(env, napi_create_object(env, &obj));
	NAPI_OK(env, napi_create_bigint_int64(env, ret, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "ret", v));
	NAPI_OK(env, napi_create_int32(env, err, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "errno", v));
	NAPI_OK(env, napi_create_bigint_int64(env, start, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "startNs", v));
	NAPI_OK(env, napi_create_bigint_int64(env, end, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "endNs", v));
	return obj;
}

/* syscallAsync(nr, args, atNs: bigint | undefined, keepAlive: boolean,
 *              status: Int32Array | undefined) */
static napi_value js_syscall_async(napi_env env, napi_callback_info info)
{
	size_t argc = 5;
	napi_value argv[5];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 2)
		return tdr_throw_type(env, "syscallAsync(nr, args, atNs?, keepAlive?) needs at least two arguments");

	tdr_job *job = tdr_job_new(TDR_JOB_SYSCALL);
	if (!job)
		return tdr_throw_errno(env, "syscallAsync", ENOMEM);
	job->keep_alive = true;
	if (!parse_call(env, argv[0], argv[1], job, true)) {
		tdr_job_discard(env, job);
		return NULL;
	}
	if (argc >= 3) {
		napi_valuetype t = napi_undefined;
		napi_typeof(env, argv[2], &t);
		if (t != napi_undefined && t != napi_null) {
			int64_t at;
			if (!tdr_get_i64(env, argv[2], &at) || at <= 0) {
				tdr_job_discard(env, job);
				return tdr_throw_type(env, "syscallAsync: atNs must be a positive bigint");
			}
			job->at_ns = at;
		}
	}
	if (argc >= 4) {
		bool keep;
		if (napi_get_value_bool(env, argv[3], &keep) == napi_ok)
			job->keep_alive = keep;
	}
	if (argc >= 5) {
		napi_valuetype t = napi_undefined;
		napi_typeof(env, argv[4], &t);
		if (t != napi_undefined && t != napi_null) {
			bool is = false;
			napi_typedarray_type type;
			size_t count = 0, offset;
			void *p = NULL;
			napi_value ab;
			if (napi_is_typedarray(env, argv[4], &is) != napi_ok || !is ||
			    napi_get_typedarray_info(env, argv[4], &type, &count, &p, &ab,
						     &offset) != napi_ok ||
			    type != napi_int32_array || count < 2) {
				tdr_job_discard(env, job);
				return tdr_throw_type(env, "syscallAsync: status must be an Int32Array of at least 2 elements");
			}
			if (napi_create_reference(env, argv[4], 1, &job->refs[job->nrefs]) != napi_ok) {
				tdr_job_discard(env, job);
				tdr_throw_last_napi_error(env, "syscallAsync");
				return NULL;
			}
			job->nrefs++;
			job->status = p;
		}
	}
	return tdr_job_start(env, job, "syscallAsync");
}

static napi_value js_address_of(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	void *data;
	size_t len;
	if (argc < 1 || !tdr_get_bytes(env, argv[0], &data, &len))
		return tdr_throw_type(env, "addressOf(buffer): expected a Buffer, TypedArray, DataView or ArrayBuffer");
	napi_value out;
	NAPI_OK(env, napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)data, &out));
	return out;
}

/* netnsFollow(): jobs submitted from now on run in the JS thread's
 * current network namespace. The first call records the base. */
static napi_value js_netns_follow(napi_env env, napi_callback_info info)
{
	(void)info;
	int err = tdr_netns_follow();
	if (err)
		return tdr_throw_errno(env, "netnsFollow", err);
	napi_value undef;
	NAPI_OK(env, napi_get_undefined(env, &undef));
	return undef;
}

bool tdr_init_syscall(napi_env env, napi_value exports)
{
	if (!tdr_export_fn(env, exports, "netnsFollow", js_netns_follow))
		return false;
	return tdr_export_fn(env, exports, "syscall", js_syscall) &&
	       tdr_export_fn(env, exports, "syscallAsync", js_syscall_async) &&
	       tdr_export_fn(env, exports, "addressOf", js_address_of);
}
