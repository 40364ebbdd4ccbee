/*
 * Module entry point and small helpers shared by the parts of the addon.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void tdr_throw_last_napi_error(napi_env env, const char *what)
{
	bool pending = false;
	if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
		return;
	const napi_extended_error_info *info = NULL;
	char msg[256];
	if (napi_get_last_error_info(env, &info) == napi_ok && info &&
	    info->error_message)
		snprintf(msg, sizeof(msg), "tundrill addon: %s failed: %s", what,
			 info->error_message);
	else
		snprintf(msg, sizeof(msg), "tundrill addon: %s failed", what);
	napi_throw_error(env, NULL, msg);
}

napi_value tdr_throw_type(napi_env env, const char *msg)
{
	napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
	return NULL;
}

napi_value tdr_throw_error(napi_env env, const char *msg)
{
	napi_throw_error(env, NULL, msg);
	return NULL;
}

static const char *errno_name(int err)
{
	/* glibc >= 2.32 */
	const char *n = strerrorname_np(err);
	return n ? n : "EUNKNOWN";
}

napi_value tdr_make_errno_error(napi_env env, const char *what, int err)
{
	char buf[128];
	char msg[384];
	const char *desc = strerror_r(err, buf, sizeof(buf));
	snprintf(msg, sizeof(msg), "%s: %s (%s)", what, desc, errno_name(err));
	napi_value m, code, e, n;
	if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
	    napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH,
				    &code) != napi_ok ||
	    napi_create_error(env, code, m, &e) != napi_ok ||
	    napi_create_int32(env, err, &n) != napi_ok ||
	    napi_set_named_property(env, e, "errno", n) != napi_ok)
		return NULL;
	return e;
}

napi_value tdr_throw_errno(napi_env env, const char *what, int err)
{
	napi_value e = tdr_make_errno_error(env, what, err);
	if (e)
		napi_throw(env, e);
	else
		tdr_throw_last_napi_error(env, what);
	return NULL;
}

napi_value tdr_bigint_i64(napi_env env, int64_t v)
{
	napi_value out;
	if (napi_create_bigint_int64(env, v, &out) != napi_ok)
		return NULL;
	return out;
}

bool tdr_get_i64(napi_env env, napi_value v, int64_t *out)
{
	napi_valuetype t;
	if (napi_typeof(env, v, &t) != napi_ok)
		return false;
	if (t == napi_bigint) {
		bool lossless;
		int64_t i;
		if (napi_get_value_bigint_int64(env, v, &i, &lossless) != napi_ok)
			return false;
		if (!lossless) {
			/* Accept the full unsigned 64-bit range too (e.g. ~0). */
			uint64_t u;
			if (napi_get_value_bigint_uint64(env, v, &u, &lossless) !=
				    napi_ok ||
			    !lossless)
				return false;
			i = (int64_t)u;
		}
		*out = i;
		return true;
	}
	if (t == napi_number) {
		double d;
		if (napi_get_value_double(env, v, &d) != napi_ok)
			return false;
		if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
			int64_t i = (int64_t)d;
			if ((double)i != d)
				return false; /* fractional */
			*out = i;
			return true;
		}
		if (d >= 9223372036854775808.0 && d < 18446744073709551616.0) {
			uint64_t u = (uint64_t)d;
			if ((double)u != d)
				return false;
			*out = (int64_t)u;
			return true;
		}
		return false; /* NaN, infinite or out of range */
	}
	return false;
}

bool tdr_get_fd(napi_env env, napi_value v, int *out)
{
	int64_t fd;
	if (!tdr_get_i64(env, v, &fd) || fd < -1 || fd > INT32_MAX) {
		tdr_throw_type(env, "fd must be an integer file descriptor");
		return false;
	}
	*out = (int)fd;
	return true;
}

bool tdr_get_bytes(napi_env env, napi_value v, void **data, size_t *len)
{
	bool is;
	if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
		napi_typedarray_type type;
		size_t count, offset;
		napi_value ab;
		void *p;
		if (napi_get_typedarray_info(env, v, &type, &count, &p, &ab,
					     &offset) != napi_ok)
			return false;
		size_t elem = 1;
		switch (type) {
		case napi_int16_array:
		case napi_uint16_array:
			elem = 2;
			break;
		case napi_int32_array:
		case napi_uint32_array:
		case napi_float32_array:
			elem = 4;
			break;
		case napi_float64_array:
		case napi_bigint64_array:
		case napi_biguint64_array:
			elem = 8;
			break;
		default:
			elem = 1;
		}
		*data = p;
		*len = count * elem;
		return true;
	}
	if (napi_is_dataview(env, v, &is) == napi_ok && is) {
		napi_value ab;
		size_t offset;
		return napi_get_dataview_info(env, v, len, data, &ab, &offset) ==
		       napi_ok;
	}
	if (napi_is_arraybuffer(env, v, &is) == napi_ok && is)
		return napi_get_arraybuffer_info(env, v, data, len) == napi_ok;
	return false;
}

bool tdr_export_fn(napi_env env, napi_value obj, const char *name, napi_callback cb)
{
	napi_value fn;
	return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) ==
		       napi_ok &&
	       napi_set_named_property(env, obj, name, fn) == napi_ok;
}

static napi_value init(napi_env env, napi_value exports)
{
	if (!tdr_env_init(env) || !tdr_init_clock(env, exports) ||
	    !tdr_init_syscall(env, exports) || !tdr_init_tun(env, exports) ||
	    !tdr_init_tun_reader(env, exports) ||
	    !tdr_init_packet_socket(env, exports) ||
	    !tdr_init_symbols(env, exports) ||
	    !tdr_init_sock_diag(env, exports) ||
	    !tdr_init_spawn(env, exports) ||
	    !tdr_init_threadpool(env, exports) ||
	    !tdr_init_stall_monitor(env, exports)) {
		tdr_throw_last_napi_error(env, "module initialisation");
		return NULL;
	}
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
