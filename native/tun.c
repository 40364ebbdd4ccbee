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
	NAPI_OK(env, napi_create_int32(env, (int32_t)ret, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "ret", v));
	NAPI_OK(env, napi_create_int32(env, err, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "errno", v));
	return obj;
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
	       tdr_export_fn(env, exports, "tunWriteAt", js_tun_write_at);
}
