/*
 * TUN device: open (IFF_TUN | IFF_NO_PI), write now, write at a deadline.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* tunOpen(name) -> { fd, name }. The fd is O_CLOEXEC and O_NONBLOCK (reads
 * are done by the reader thread after poll(); writes to a TUN never block).
 * An empty name lets the kernel pick one (tun%d). */
static napi_value js_tun_open(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	char name[IFNAMSIZ + 1];
	size_t len = 0;
	if (argc < 1 ||
	    napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &len) != napi_ok)
		return tdr_throw_type(env, "tunOpen(name): name must be a string");
	if (len >= IFNAMSIZ)
		return tdr_throw_type(env, "tunOpen(name): interface names have at most 15 bytes");
	if (memchr(name, '/', len) || memchr(name, ' ', len))
		return tdr_throw_type(env, "tunOpen(name): invalid interface name");

	int fd;
	do {
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return tdr_throw_errno(env, "tunOpen: open /dev/net/tun", errno);

	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, len);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;
		close(fd);
		return tdr_throw_errno(env, "tunOpen: ioctl TUNSETIFF", err);
	}

	napi_value obj, v;
	NAPI_OK(env, napi_create_object(env, &obj));
	NAPI_OK(env, napi_create_int32(env, fd, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "fd", v));
	ifr.ifr_name[IFNAMSIZ - 1] = '\0';
	NAPI_OK(env, napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "name", v));
	return obj;
}

/* Sets a write's { ret, errno } on obj and returns it (NULL with an
 * exception pending when N-API fails). */
static napi_value put_write_result(napi_env env, napi_value obj, ssize_t ret, int err)
{
	napi_value v;
	NAPI_OK(env, napi_create_int32(env, (int32_t)ret, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "ret", v));
	NAPI_OK(env, napi_create_int32(env, err, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "errno", v));
	return obj;
}

/* tunWrite(fd, data) -> { tsNs, ret, errno }; tsNs is taken right before
 * write(). */
static napi_value js_tun_write(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	int fd;
	void *data;
	size_t len;
	if (argc < 2)
		return tdr_throw_type(env, "tunWrite(fd, data) needs two arguments");
	if (!tdr_get_fd(env, argv[0], &fd))
		return NULL;
	if (!tdr_get_bytes(env, argv[1], &data, &len))
		return tdr_throw_type(env, "tunWrite: data must be a Buffer");

	int64_t ts;
	ssize_t ret;
	do {
		ts = tdr_now_ns();
		ret = write(fd, data, len);
	} while (ret < 0 && errno == EINTR);
	int err = ret < 0 ? errno : 0;
	if (ret > 0)
		tdr_sockdiag_note(fd, data, len, ts, 1, true);

	napi_value obj, v;
	NAPI_OK(env, napi_create_object(env, &obj));
	NAPI_OK(env, napi_create_bigint_int64(env, ts, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "tsNs", v));
	return put_write_result(env, obj, ret, err);
}

/* tunWriteBurst(fd, frames, stopAfterNs) -> { tsNs: bigint[], ret, errno }:
 * frames written back to back, each stamped right before its write, in
 * one call: packets due at the same instant go out without JavaScript
 * between them (1-2.3 us a packet on this project's machine, against
 * 1.3 us for the write itself). Stops after the first write that fails
 * (its stamp is the last; ret and errno are its) and after the first
 * stamped later than its stopAfterNs entry (too late for its event). A
 * frame or stop that is not of the right type throws, after the writes
 * before it were made. */
#define BURST_MAX 64

static napi_value js_tun_write_burst(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	int fd;
	bool is_array = false;
	uint32_t n = 0, nstop = 0;
	if (argc < 3)
		return tdr_throw_type(env, "tunWriteBurst(fd, frames, stopAfterNs) needs three arguments");
	if (!tdr_get_fd(env, argv[0], &fd))
		return NULL;
	if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array ||
	    napi_get_array_length(env, argv[1], &n) != napi_ok || n == 0 || n > BURST_MAX)
		return tdr_throw_type(env, "tunWriteBurst: frames must be an array of 1 to 64 Buffers");
	if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array ||
	    napi_get_array_length(env, argv[2], &nstop) != napi_ok || nstop != n)
		return tdr_throw_type(env, "tunWriteBurst: stopAfterNs must be an array of one bigint a frame");
	/* Each frame's arguments are read just before its write, so that the
	 * first goes out as soon as a single write would. */
	int64_t ts[BURST_MAX];
	uint32_t done = 0;
	ssize_t ret = 0;
	int err = 0;
	while (done < n) {
		uint32_t i = done;
		napi_value f, s;
		void *data;
		size_t len;
		int64_t stop_after;
		if (napi_get_element(env, argv[1], i, &f) != napi_ok || !tdr_get_bytes(env, f, &data, &len))
			return tdr_throw_type(env, "tunWriteBurst: frames must be an array of 1 to 64 Buffers");
		if (napi_get_element(env, argv[2], i, &s) != napi_ok || !tdr_get_i64(env, s, &stop_after))
			return tdr_throw_type(env, "tunWriteBurst: stopAfterNs must be an array of one bigint a frame");
		done++;
		do {
			ts[i] = tdr_now_ns();
			ret = write(fd, data, len);
		} while (ret < 0 && errno == EINTR);
		if (ret < 0) {
			err = errno;
			break;
		}
		if (ret > 0)
			tdr_sockdiag_note(fd, data, len, ts[i], 1, true);
		if (ts[i] > stop_after)
			break;
	}

	napi_value obj, arr, v;
	NAPI_OK(env, napi_create_object(env, &obj));
	NAPI_OK(env, napi_create_array_with_length(env, done, &arr));
	for (uint32_t i = 0; i < done; i++) {
		NAPI_OK(env, napi_create_bigint_int64(env, ts[i], &v));
		NAPI_OK(env, napi_set_element(env, arr, i, v));
	}
	NAPI_OK(env, napi_set_named_property(env, obj, "tsNs", arr));
	return put_write_result(env, obj, ret, err);
}

/* tunWriteAt(fd, data, deadlineNs) -> Promise<{ tsNs, ret, errno }>: a
 * native thread sleeps until the deadline, then writes a copy of data. */
static napi_value js_tun_write_at(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	int fd;
	void *data;
	size_t len;
	int64_t deadline;
	if (argc < 3)
		return tdr_throw_type(env, "tunWriteAt(fd, data, deadlineNs) needs three arguments");
	if (!tdr_get_fd(env, argv[0], &fd))
		return NULL;
	if (!tdr_get_bytes(env, argv[1], &data, &len))
		return tdr_throw_type(env, "tunWriteAt: data must be a Buffer");
	if (!tdr_get_i64(env, argv[2], &deadline) || deadline <= 0)
		return tdr_throw_type(env, "tunWriteAt: deadlineNs must be a positive bigint");

	tdr_job *job = tdr_job_new(TDR_JOB_TUN_WRITE);
	void *copy = malloc(len ? len : 1);
	if (!job || !copy) {
		free(job);
		free(copy);
		return tdr_throw_errno(env, "tunWriteAt", ENOMEM);
	}
	memcpy(copy, data, len);
	job->fd = fd;
	job->data = copy;
	job->len = len;
	job->at_ns = deadline;
	job->keep_alive = true;
	return tdr_job_start(env, job, "tunWriteAt");
}

bool tdr_init_tun(napi_env env, napi_value exports)
{
	return tdr_export_fn(env, exports, "tunOpen", js_tun_open) &&
	       tdr_export_fn(env, exports, "tunWrite", js_tun_write) &&
	       tdr_export_fn(env, exports, "tunWriteAt", js_tun_write_at) &&
	       tdr_export_fn(env, exports, "tunWriteBurst", js_tun_write_burst);
}
