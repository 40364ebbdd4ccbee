/*
 * TUN reader: a dedicated thread waits in poll() on the TUN fd, reads every
 * packet as soon as it arrives, stamps it with CLOCK_MONOTONIC right after
 * read() returns and appends it to an unbounded queue. Given the TUN's
 * stamp socket (packetStampSocketOpen), it stamps each packet with the
 * time the kernel's packet tap saw it instead: the read comes later by the
 * thread's wake-up, which a busy machine stretches to milliseconds. The
 * queue is never trimmed: the TUN must be drained continuously even while JavaScript is
 * busy, since the kernel does not retransmit a segment whose skb still sits
 * in a host queue.
 *
 * The JS thread gets the queued packets in batches through a thread-safe
 * function used as a doorbell (one pending call at most; each call drains
 * the whole queue), or waits for them itself (tunReaderWait): it spins,
 * reading the fd now and then, then sleeps in poll() on the fd, reading
 * it itself while the reader thread keeps off it, so that the kernel
 * wakes the JS thread for the packet directly. stop() wakes the thread through an eventfd; the thread
 * first reads what the fd still holds (packets the kernel queued before the
 * stop belong in the capture), then ends; stop() joins it and returns the
 * packets that were read but not yet delivered.
 *
 * The same thread reads an AF_PACKET socket (packetReaderStart): it takes
 * each frame with recvmsg() (with the kernel's time for it, which
 * packetSocketOpen asks for), keeps only the packet types asked for
 * (sll_pkttype: PACKET_OUTGOING for what the interface sent, PACKET_HOST /
 * OTHERHOST / ... for what it received) and hands the type on with the
 * frame.
 *
 * Lifetime: the reader struct is shared by the JS handle object (wrap
 * finalizer) and the thread-safe function (its finalizer); whichever goes
 * last frees it. While running, the handle is strongly referenced, so a
 * forgotten reader keeps running until stop() or the environment's end.
 */
#include "common.h"

#include <stdio.h>
#include <time.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_packet.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define READ_BUF_SIZE (65536 + 256)
/* How long tunReaderWait spins before it sleeps. Side by side with
 * packetdrill on bench/inbound-data-acked.pkt, the engine's answer to a
 * packet the kernel sent left 106-118 µs after it (median) with no spin,
 * 69-70 µs with this one; packetdrill's, 22 µs. */
#define WAIT_SPIN_NS 150000LL
/* How often that spin reads the TUN itself (a read of an empty TUN is a
 * system call of a microsecond or two). */
#define DIRECT_READ_EVERY_NS 10000LL
/* How long tunReaderWait sleeps before it lets the event loop's work (a
 * blocking call's end, a timer) cut the wait short. */
#define WAIT_LOOP_FREE_NS 3000000LL

typedef struct pkt {
	struct pkt *next;
	int64_t ts_ns; /* the kernel's time for it where known, else right after the read */
	int pkttype; /* sll_pkttype, or -1 for a TUN read */
	size_t len;
	unsigned char data[];
} pkt;

typedef struct reader {
	int fd;
	int wake_fd;
	/* 0: read() a TUN; otherwise recvfrom() an AF_PACKET socket and keep
	 * the frames whose 1 << sll_pkttype is in the mask. */
	uint32_t pkttype_mask;
	/* TUN only: the stamp socket (packetStampSocketOpen) of the TUN's
	 * interface, or -1; the packet starts stamp_skip bytes into a read
	 * (behind the virtio-net header). */
	int stamp_fd;
	size_t stamp_skip;
	/* Reader thread only until it ends: packets stamped by the kernel,
	 * packets without a kernel stamp, and the largest and summed lag of
	 * the read behind the kernel's stamp (of packets sent while the
	 * thread ran: one queued before it started waited for it). */
	uint64_t stamped, unstamped;
	uint64_t direct_reads; /* packets tunReaderWait read itself (under read_mu) */
	int64_t lag_max_ns, lag_sum_ns;
	uint64_t lag_count;
	int64_t started_ns; /* packets the kernel sent before it are not counted as lag */
	pthread_t thread;
	napi_env env;
	napi_threadsafe_function tsfn;
	napi_ref self;     /* strong while running */
	napi_ref on_error; /* optional */
	int owners;        /* handle + thread-safe function (JS thread only) */
	bool stopped;      /* JS thread only */
	bool error_reported;

	/* Held while the fd is read and what it gave queued: by the reader
	 * thread, and by the JS thread when tunReaderWait reads the fd itself. */
	pthread_mutex_t read_mu;
	bool direct;  /* the fd has O_NONBLOCK: tunReaderWait may read it */
	unsigned char *engine_buf; /* tunReaderWait's read buffer (JS thread only) */

	/* tunReaderWait sleeps in poll() on the fd itself and on notify_fd,
	 * which the reader thread writes when it queues a packet while
	 * engine_waiting is set (it may have read the packet the JS thread's
	 * poll was about to see). */
	int notify_fd;
	int engine_waiting;
	/* While the JS thread reads the fd itself in tunReaderWait's sleep, the
	 * reader thread leaves the fd alone (is parked): otherwise each packet
	 * wakes both threads, and the JS thread, below the reader's priority,
	 * often waits for a second CPU to wake up. park_fd tells the reader
	 * thread to look at engine_waiting again. */
	int park_fd;
	/* Until this CLOCK_MONOTONIC time the reader thread keeps off the fd
	 * too (tunReaderHold), unless the engine's wait ends first: the engine
	 * is about to write a packet the kernel may answer inside that write,
	 * and reads the answer itself. A reader thread polling the fd then is
	 * woken from inside the write: on this project's machine that wake-up
	 * made the write of a data segment the kernel ACKs at once take 27-28
	 * us (median) instead of 12-13. */
	int64_t hold_until;

	pthread_mutex_t mu; /* guards the fields below */
	pkt *head, *tail;
	bool doorbell_pending;
	bool tsfn_closing;
	int error; /* errno of the failure that ended the thread, or 0 */
} reader;

static void free_pkts(pkt *p)
{
	while (p) {
		pkt *next = p->next;
		free(p);
		p = next;
	}
}

static void reader_release_owner(reader *r)
{
	if (--r->owners > 0)
		return;
	free_pkts(r->head);
	free(r->engine_buf);
	if (r->notify_fd >= 0)
		close(r->notify_fd);
	if (r->park_fd >= 0)
		close(r->park_fd);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->read_mu);
	free(r);
}

/* Reader thread: publish queued state to JS (caller holds r->mu). */
static void ring_locked(reader *r)
{
	if (r->doorbell_pending || r->tsfn_closing)
		return;
	r->doorbell_pending = true;
	if (napi_call_threadsafe_function(r->tsfn, NULL, napi_tsfn_nonblocking) ==
	    napi_closing)
		r->tsfn_closing = true;
}

static int64_t timespec_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* The CLOCK_MONOTONIC time of a CLOCK_REALTIME kernel stamp. */
static int64_t realtime_to_monotonic(const struct timespec *kt)
{
	struct timespec rt, mono;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	return timespec_ns(kt) - (timespec_ns(&rt) - timespec_ns(&mono));
}

/* A kernel stamp `k` for a packet read at read_ns, or 0 when it cannot be
 * that packet's: none, after the read, or a second before it (a clock
 * step between the two clocks' readings). */
static int64_t plausible_stamp(int64_t k, int64_t read_ns)
{
	return k > 0 && k <= read_ns && read_ns - k < 1000000000 ? k : 0;
}

/* The SO_TIMESTAMPNS stamp of a received message, 0 without one. */
static int64_t message_stamp(struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
			return realtime_to_monotonic((const struct timespec *)CMSG_DATA(c));
	return 0;
}

/* One frame from an AF_PACKET socket, with its address and, where the
 * socket has SO_TIMESTAMPNS (packetSocketOpen sets it), the kernel's time
 * for it in *tap_ns. */
static ssize_t recv_frame(int fd, unsigned char *buf, struct sockaddr_ll *sll,
			  socklen_t *sll_len, int64_t *tap_ns)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = buf, .iov_len = READ_BUF_SIZE };
	struct msghdr m = {
		.msg_name = sll, .msg_namelen = *sll_len,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf),
	};
	ssize_t n = recvmsg(fd, &m, MSG_TRUNC);
	if (n >= 0) {
		*sll_len = m.msg_namelen;
		*tap_ns = message_stamp(&m);
	}
	return n;
}

/*
 * The kernel's time for the packet just read from the TUN (CLOCK_MONOTONIC
 * ns), or 0 when its frame is not on the stamp socket. Frames arrive there
 * in the order the interface sent them, and each before the TUN can be
 * read (the tap runs before the driver's transmit), so frames ahead of the
 * packet's own are of packets the TUN never delivered: they are dropped.
 * The tap stamps with CLOCK_REALTIME; it is brought to CLOCK_MONOTONIC by
 * the two clocks' offset read right after.
 */
static int64_t kernel_stamp(reader *r, const unsigned char *pkt, size_t len, int64_t read_ns)
{
	unsigned char frame[TDR_STAMP_SNAP];
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctrl;
	for (int tries = 0; tries < 64; tries++) {
		struct iovec iov = { .iov_base = frame, .iov_len = sizeof(frame) };
		struct msghdr m = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf),
		};
		ssize_t n = recvmsg(r->stamp_fd, &m, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			/* Bound while the interface was down: ENETDOWN once. */
			if (errno == EINTR || errno == ENETDOWN)
				continue;
			return 0;
		}
		/* The filter cut the frame to TDR_STAMP_SNAP bytes, and MSG_TRUNC
		 * gives the cut length; the IP header's length field, among the
		 * bytes compared, tells the whole length. */
		size_t cmp = len < sizeof(frame) ? len : sizeof(frame);
		if ((size_t)n != cmp || memcmp(frame, pkt, cmp) != 0)
			continue;
		return plausible_stamp(message_stamp(&m), read_ns);
	}
	return 0;
}

/* Signal an eventfd. */
static void kick(int efd)
{
	uint64_t one = 1;
	(void)!write(efd, &one, sizeof(one));
}

/*
 * Reads what the fd holds now (one packet if it blocks), stamps each packet
 * and queues it; the caller holds r->read_mu, which keeps the queue in the
 * order the fd gave the packets when the JS thread reads too. `engine`:
 * called on the JS thread by tunReaderWait, which takes the queue itself,
 * so no doorbell, and the sampler's query of the packet waits for the
 * engine's spare time (tdr_sockdiag_note defer). Returns the errno that
 * ends the reader, or 0.
 */
static int read_queue_locked(reader *r, unsigned char *buf, bool nonblocking, bool engine)
{
	for (;;) {
		struct sockaddr_ll sll;
		socklen_t sll_len = sizeof(sll);
		int64_t tap_ns = 0;
		ssize_t len = r->pkttype_mask
			? recv_frame(r->fd, buf, &sll, &sll_len, &tap_ns)
			: read(r->fd, buf, READ_BUF_SIZE);
		int64_t ts = tdr_now_ns();
		if (len < 0) {
			/* A packet socket bound while its interface was down
			 * reports ENETDOWN once, then works when it is up. */
			if (errno == EINTR || (r->pkttype_mask && errno == ENETDOWN))
				continue;
			return errno != EAGAIN && errno != EWOULDBLOCK ? errno : 0;
		}
		if (r->pkttype_mask) {
			if (len > READ_BUF_SIZE)
				len = READ_BUF_SIZE; /* truncated frame */
			if (sll_len < offsetof(struct sockaddr_ll, sll_addr) ||
			    sll.sll_pkttype >= 32 ||
			    !(r->pkttype_mask & (1u << sll.sll_pkttype)))
				continue;
		}
		tap_ns = plausible_stamp(tap_ns, ts);
		int64_t stamp = tap_ns ? tap_ns : ts;
		if (r->stamp_fd >= 0 && !r->pkttype_mask && (size_t)len > r->stamp_skip) {
			int64_t k = kernel_stamp(r, buf + r->stamp_skip,
						 (size_t)len - r->stamp_skip, ts);
			if (k) {
				stamp = k;
				r->stamped++;
				if (k >= r->started_ns) {
					r->lag_count++;
					r->lag_sum_ns += ts - k;
					if (ts - k > r->lag_max_ns)
						r->lag_max_ns = ts - k;
				}
			} else {
				r->unstamped++;
			}
		}
		pkt *p = malloc(sizeof(*p) + (size_t)len);
		if (!p)
			return ENOMEM;
		p->next = NULL;
		p->ts_ns = stamp;
		p->pkttype = r->pkttype_mask ? sll.sll_pkttype : -1;
		p->len = (size_t)len;
		memcpy(p->data, buf, (size_t)len);
		pthread_mutex_lock(&r->mu);
		if (r->tail)
			r->tail->next = p;
		else
			r->head = p;
		r->tail = p;
		if (!engine)
			ring_locked(r);
		pthread_mutex_unlock(&r->mu);
		if (!engine && __atomic_load_n(&r->engine_waiting, __ATOMIC_SEQ_CST))
			kick(r->notify_fd);
		if (engine)
			r->direct_reads++;
		/* buf still holds the packet (p may be gone to JS already). */
		tdr_sockdiag_note(r->fd, buf, (size_t)len, ts, 0, engine);
		if (!nonblocking || len == 0)
			return 0;
	}
	return 0;
}

static void *reader_main(void *arg)
{
	reader *r = arg;
	tdr_thread_setup();
	/* Stays real-time for its life (it mostly sleeps in poll()), so that
	 * packets are read and stamped as soon as they arrive. */
	(void)tdr_rt_enter();
	r->started_ns = tdr_now_ns();
	int fl = fcntl(r->fd, F_GETFL);
	bool nonblocking = fl >= 0 && (fl & O_NONBLOCK);
	unsigned char *buf = malloc(READ_BUF_SIZE);
	int err = buf ? 0 : ENOMEM;

	struct pollfd pfd[3] = {
		{ .fd = r->fd, .events = POLLIN },
		{ .fd = r->wake_fd, .events = POLLIN },
		{ .fd = r->park_fd, .events = POLLIN },
	};
	while (!err) {
		/* poll() skips a negative fd; a hold ends by itself */
		int64_t held = __atomic_load_n(&r->hold_until, __ATOMIC_SEQ_CST) - tdr_now_ns();
		struct timespec hold_left = { .tv_sec = 0, .tv_nsec = 0 };
		if (held > 0) {
			hold_left.tv_sec = (time_t)(held / 1000000000LL);
			hold_left.tv_nsec = (long)(held % 1000000000LL);
		}
		pfd[0].fd = __atomic_load_n(&r->engine_waiting, __ATOMIC_SEQ_CST) == 2 || held > 0 ? -1 : r->fd;
		int n = ppoll(pfd, 3, held > 0 ? &hold_left : NULL, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		if (pfd[2].revents) {
			uint64_t v;
			(void)!read(r->park_fd, &v, sizeof(v));
		}
		bool last = false;
		if (pfd[1].revents) {
			/* Stop requested: what the kernel queued before it (the FIN
			 * a close() at the script's end sent, say) is still read,
			 * so that the capture always holds it. */
			struct pollfd now = { .fd = r->fd, .events = POLLIN };
			if (poll(&now, 1, 0) <= 0 || !(now.revents & POLLIN))
				break;
			pfd[0].fd = r->fd; /* held or parked, it is read now */
			pfd[0].revents = now.revents;
			last = true;
		}
		if (pfd[0].fd < 0)
			continue;
		if (pfd[0].revents & POLLNVAL) {
			err = EBADF;
			break;
		}
		if (!(pfd[0].revents & (POLLIN | POLLERR | POLLHUP)))
			continue;
		/* A hold or park that began while this thread polled: the packet
		 * that woke it came after, and is the engine's to read (unless
		 * the reader is stopping). Without this look, a packet the kernel
		 * sent right after a hold began went to whichever thread came
		 * first; the hold's kick reaches this thread a wake-up later. */
		if (!last && (__atomic_load_n(&r->engine_waiting, __ATOMIC_SEQ_CST) == 2 ||
			      __atomic_load_n(&r->hold_until, __ATOMIC_SEQ_CST) > tdr_now_ns()))
			continue;
		/* Drain everything queued (one packet if the fd blocks). */
		pthread_mutex_lock(&r->read_mu);
		err = read_queue_locked(r, buf, nonblocking, false);
		pthread_mutex_unlock(&r->read_mu);
		if (err)
			break;
		if (last && !nonblocking)
			continue; /* one packet per poll on a blocking fd: poll again */
		if (last)
			break;
	}
	free(buf);
	if (err) {
		pthread_mutex_lock(&r->mu);
		r->error = err;
		ring_locked(r);
		pthread_mutex_unlock(&r->mu);
		kick(r->notify_fd);
	}
	return NULL;
}

/* Turn a packet list into a JS array of { data, tsNs, pkttype? }; frees the list. */
static napi_value pkts_to_array(napi_env env, pkt *p)
{
	napi_value arr;
	if (napi_create_array(env, &arr) != napi_ok) {
		free_pkts(p);
		return NULL;
	}
	uint32_t i = 0;
	bool ok = true;
	while (p) {
		pkt *next = p->next;
		napi_value obj, data, ts, type;
		if (ok) {
			ok = napi_create_object(env, &obj) == napi_ok &&
			     napi_create_buffer_copy(env, p->len, p->data, NULL, &data) == napi_ok &&
			     napi_create_bigint_int64(env, p->ts_ns, &ts) == napi_ok &&
			     napi_set_named_property(env, obj, "data", data) == napi_ok &&
			     napi_set_named_property(env, obj, "tsNs", ts) == napi_ok &&
			     napi_set_element(env, arr, i++, obj) == napi_ok;
			if (ok && p->pkttype >= 0)
				ok = napi_create_int32(env, p->pkttype, &type) == napi_ok &&
				     napi_set_named_property(env, obj, "pkttype", type) == napi_ok;
		}
		free(p);
		p = next;
	}
	return ok ? arr : NULL;
}

static void report_exception(napi_env env)
{
	bool pending = false;
	if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
		napi_value e;
		if (napi_get_and_clear_last_exception(env, &e) == napi_ok)
			napi_fatal_exception(env, e);
	}
}

static void reader_call_js(napi_env env, napi_value js_cb, void *context, void *data)
{
	(void)data;
	reader *r = context;
	if (env == NULL || r->stopped)
		return;

	pthread_mutex_lock(&r->mu);
	pkt *list = r->head;
	r->head = r->tail = NULL;
	r->doorbell_pending = false;
	int err = r->error;
	pthread_mutex_unlock(&r->mu);

	if (list) {
		napi_value arr = pkts_to_array(env, list);
		napi_value undef;
		if (arr && napi_get_undefined(env, &undef) == napi_ok) {
			napi_call_function(env, undef, js_cb, 1, &arr, NULL);
			report_exception(env);
		}
	}
	if (err && !r->error_reported && !r->stopped) {
		r->error_reported = true;
		napi_value cb, undef, ev;
		if (r->on_error &&
		    napi_get_reference_value(env, r->on_error, &cb) == napi_ok && cb &&
		    napi_get_undefined(env, &undef) == napi_ok &&
		    napi_create_int32(env, err, &ev) == napi_ok) {
			napi_call_function(env, undef, cb, 1, &ev, NULL);
			report_exception(env);
		}
	}
}

/* Stop the thread and collect what it left behind (any thread context
 * that may block briefly: JS thread or environment cleanup). */
static pkt *reader_halt(reader *r)
{
	uint64_t one = 1;
	ssize_t w;
	do {
		w = write(r->wake_fd, &one, sizeof(one));
	} while (w < 0 && errno == EINTR);
	pthread_join(r->thread, NULL);
	close(r->wake_fd);
	r->wake_fd = -1;
	r->stopped = true;
	pthread_mutex_lock(&r->mu);
	pkt *list = r->head;
	r->head = r->tail = NULL;
	pthread_mutex_unlock(&r->mu);
	return list;
}

static void reader_env_cleanup(void *arg)
{
	reader *r = arg;
	if (!r->stopped)
		free_pkts(reader_halt(r));
}

static void tsfn_finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	reader_release_owner(data);
}

static void handle_finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	reader *r = data;
	if (!r->stopped)
		free_pkts(reader_halt(r));
	reader_release_owner(r);
}

/* tunReaderStart(fd, onPackets, onError, keepAlive, pkttypeMask?, stampFd?,
 * stampSkip?) -> handle; a non-zero pkttypeMask reads an AF_PACKET socket
 * (see above); stampFd >= 0 is a TUN's stamp socket, the packet stampSkip
 * bytes into each read. The reader does not own stampFd. */
static napi_value js_reader_start(napi_env env, napi_callback_info info)
{
	size_t argc = 7;
	napi_value argv[7];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	int fd;
	napi_valuetype t;
	if (argc < 2)
		return tdr_throw_type(env, "tunReaderStart(fd, onPackets, onError?, keepAlive?) needs at least two arguments");
	if (!tdr_get_fd(env, argv[0], &fd))
		return NULL;
	if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function)
		return tdr_throw_type(env, "tunReaderStart: onPackets must be a function");
	bool has_on_error = argc >= 3 && napi_typeof(env, argv[2], &t) == napi_ok &&
			    t == napi_function;
	bool keep_alive = false;
	if (argc >= 4)
		napi_get_value_bool(env, argv[3], &keep_alive);
	uint32_t pkttype_mask = 0;
	if (argc >= 5 && napi_typeof(env, argv[4], &t) == napi_ok && t == napi_number &&
	    napi_get_value_uint32(env, argv[4], &pkttype_mask) != napi_ok)
		return tdr_throw_type(env, "tunReaderStart: pkttypeMask must be a number");

	int32_t stamp_fd = -1;
	uint32_t stamp_skip = 0;
	if (argc >= 6 && napi_typeof(env, argv[5], &t) == napi_ok && t == napi_number &&
	    napi_get_value_int32(env, argv[5], &stamp_fd) != napi_ok)
		return tdr_throw_type(env, "tunReaderStart: stampFd must be a number");
	if (argc >= 7 && napi_typeof(env, argv[6], &t) == napi_ok && t == napi_number &&
	    (napi_get_value_uint32(env, argv[6], &stamp_skip) != napi_ok || stamp_skip > 256))
		return tdr_throw_type(env, "tunReaderStart: stampSkip must be 0..256");

	reader *r = calloc(1, sizeof(*r));
	if (!r)
		return tdr_throw_errno(env, "tunReaderStart", ENOMEM);
	r->fd = fd;
	r->pkttype_mask = pkttype_mask;
	r->stamp_fd = stamp_fd < 0 ? -1 : stamp_fd;
	r->stamp_skip = stamp_skip;
	r->env = env;
	tdr_mutex_init(&r->mu);
	tdr_mutex_init(&r->read_mu);
	int fl = fcntl(fd, F_GETFL);
	r->direct = fl >= 0 && (fl & O_NONBLOCK);
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->park_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wake_fd < 0 || r->notify_fd < 0 || r->park_fd < 0) {
		int err = errno;
		if (r->wake_fd >= 0)
			close(r->wake_fd);
		if (r->notify_fd >= 0)
			close(r->notify_fd);
		if (r->park_fd >= 0)
			close(r->park_fd);
		pthread_mutex_destroy(&r->mu);
		pthread_mutex_destroy(&r->read_mu);
		free(r);
		return tdr_throw_errno(env, "tunReaderStart: eventfd", err);
	}

	napi_value name, handle;
	if (napi_create_string_utf8(env, "tundrill.tunReader", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, r,
					    tsfn_finalize, r, reader_call_js,
					    &r->tsfn) != napi_ok) {
		close(r->wake_fd);
		close(r->notify_fd);
		close(r->park_fd);
		pthread_mutex_destroy(&r->mu);
		pthread_mutex_destroy(&r->read_mu);
		free(r);
		tdr_throw_last_napi_error(env, "tunReaderStart: napi_create_threadsafe_function");
		return NULL;
	}
	/* From here on the thread-safe function owns one share of r. */
	r->owners = 1;
	if (!keep_alive)
		napi_unref_threadsafe_function(env, r->tsfn);

	int rc = tdr_thread_create(&r->thread, false, true, reader_main, r);
	if (rc) {
		close(r->wake_fd);
		r->stopped = true;
		napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
		return tdr_throw_errno(env, "tunReaderStart: pthread_create", rc);
	}

	if (napi_create_object(env, &handle) != napi_ok ||
	    napi_wrap(env, handle, r, handle_finalize, NULL, NULL) != napi_ok) {
		free_pkts(reader_halt(r));
		napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
		tdr_throw_last_napi_error(env, "tunReaderStart: napi_wrap");
		return NULL;
	}
	r->owners++;
	napi_create_reference(env, handle, 1, &r->self);
	if (has_on_error)
		napi_create_reference(env, argv[2], 1, &r->on_error);
	napi_add_env_cleanup_hook(env, reader_env_cleanup, r);
	return handle;
}

/* The reader handle in argv[0] of a call that takes `want` arguments
 * (filled into argv); throws and returns NULL when it is not one. */
static reader *reader_arg(napi_env env, napi_callback_info info, size_t want,
			  napi_value *argv, const char *what)
{
	size_t argc = want;
	void *p = NULL;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
	    argc < want || napi_unwrap(env, argv[0], &p) != napi_ok || !p) {
		char msg[96];
		snprintf(msg, sizeof(msg), "%s: not a TUN reader handle", what);
		tdr_throw_type(env, msg);
		return NULL;
	}
	return p;
}

/* Packets queued now (caller holds r->mu). */
static uint32_t queued_locked(const reader *r)
{
	uint32_t n = 0;
	for (const pkt *q = r->head; q; q = q->next)
		n++;
	return n;
}

/* tunReaderStop(handle) -> packets read but not delivered yet */
static napi_value js_reader_stop(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	reader *r = reader_arg(env, info, 1, argv, "tunReaderStop");
	if (!r)
		return NULL;
	if (r->stopped) {
		napi_value empty;
		NAPI_OK(env, napi_create_array(env, &empty));
		return empty;
	}
	pkt *rest = reader_halt(r);
	napi_remove_env_cleanup_hook(env, reader_env_cleanup, r);
	napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
	if (r->on_error) {
		napi_delete_reference(env, r->on_error);
		r->on_error = NULL;
	}
	if (r->self) {
		napi_delete_reference(env, r->self);
		r->self = NULL;
	}
	napi_value arr = pkts_to_array(env, rest);
	if (!arr) {
		tdr_throw_last_napi_error(env, "tunReaderStop");
		return NULL;
	}
	return arr;
}

/* tunReaderPending(handle) -> number of packets queued for JS right now. */
static napi_value js_reader_pending(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	reader *r = reader_arg(env, info, 1, argv, "tunReaderPending");
	if (!r)
		return NULL;
	pthread_mutex_lock(&r->mu);
	uint32_t n = queued_locked(r);
	pthread_mutex_unlock(&r->mu);
	napi_value out;
	NAPI_OK(env, napi_create_uint32(env, n, &out));
	return out;
}

/* tunReaderTake(handle) -> the packets queued right now, taken on the JS
 * thread without waiting for the doorbell; the next callback gets only
 * what arrives later. */
static napi_value js_reader_take(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	reader *r = reader_arg(env, info, 1, argv, "tunReaderTake");
	if (!r)
		return NULL;
	pthread_mutex_lock(&r->mu);
	pkt *list = r->head;
	r->head = r->tail = NULL;
	pthread_mutex_unlock(&r->mu);
	napi_value arr = pkts_to_array(env, list);
	if (!arr)
		return NULL;
	return arr;
}

/* The CLOCK_MONOTONIC time (ns) of the event loop's next timer, or
 * INT64_MAX when it has none; a time already past when the loop has work
 * due now. A loop with nothing active has nothing due: uv_backend_timeout
 * says 0 then. */
static int64_t loop_due_ns(uv_loop_t *loop)
{
	if (!uv_loop_alive(loop))
		return INT64_MAX;
	int t = uv_backend_timeout(loop);
	if (t < 0)
		return INT64_MAX;
	return ((int64_t)uv_now(loop) + t) * 1000000LL;
}

/*
 * tunReaderWait's sleep, after its spin: in poll() on the fd itself (when
 * the JS thread may read it) and on notify_fd, so that the kernel wakes
 * this thread for the packet directly, not through the reader thread's
 * wake-up and then this one's: on a virtual machine each costs tens of
 * microseconds at the median and hundreds at the tail. For its first
 * WAIT_LOOP_FREE_NS it waits for a packet or the deadline only; after
 * that it returns as soon as the event loop has work (its fd is
 * readable: a blocking call ended, a doorbell rang) or a timer of the
 * loop is due, so that a long wait holds nothing of the loop's back.
 */
static void wait_sleep(napi_env env, reader *r, int64_t now, int64_t deadline)
{
	uv_loop_t *loop = NULL;
	if (napi_get_uv_event_loop(env, &loop) != napi_ok)
		loop = NULL;
	const int64_t loop_free_until = now + WAIT_LOOP_FREE_NS;
	/* 2: this thread reads the fd, and the reader thread is parked. */
	const bool park = r->engine_buf != NULL;
	__atomic_store_n(&r->engine_waiting, park ? 2 : 1, __ATOMIC_SEQ_CST);
	if (park)
		kick(r->park_fd);
	for (;;) {
		if (__atomic_load_n(&r->head, __ATOMIC_SEQ_CST) || __atomic_load_n(&r->error, __ATOMIC_RELAXED))
			break;
		now = tdr_now_ns();
		bool watch_loop = loop && now >= loop_free_until;
		int64_t until = deadline;
		if (!watch_loop && loop && loop_free_until < until)
			until = loop_free_until;
		if (watch_loop) {
			int64_t due = loop_due_ns(loop);
			if (due < until)
				until = due;
		}
		if (now >= until) {
			if (until == deadline || watch_loop)
				break;
			continue; /* the loop's free time is over: watch it from now on */
		}
		struct pollfd pfd[3];
		int nfd = 0, tun_i = -1, loop_i = -1;
		pfd[nfd++] = (struct pollfd){ .fd = r->notify_fd, .events = POLLIN };
		if (r->engine_buf) {
			tun_i = nfd;
			pfd[nfd++] = (struct pollfd){ .fd = r->fd, .events = POLLIN };
		}
		if (watch_loop) {
			loop_i = nfd;
			pfd[nfd++] = (struct pollfd){ .fd = uv_backend_fd(loop), .events = POLLIN };
		}
		int64_t left = until - now;
		struct timespec ts = { .tv_sec = (time_t)(left / 1000000000LL), .tv_nsec = (long)(left % 1000000000LL) };
		int n = ppoll(pfd, (nfds_t)nfd, &ts, NULL);
		if (n <= 0)
			continue;
		if (pfd[0].revents) {
			uint64_t v;
			(void)!read(r->notify_fd, &v, sizeof(v));
		}
		if (tun_i >= 0 && pfd[tun_i].revents) {
			if (pthread_mutex_trylock(&r->read_mu) == 0) {
				(void)read_queue_locked(r, r->engine_buf, true, true);
				pthread_mutex_unlock(&r->read_mu);
			} else {
				/* The reader thread is reading it: it queues the
				 * packet within microseconds. */
				int64_t give_up = tdr_now_ns() + 1000000LL;
				while (!__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) &&
				       !__atomic_load_n(&r->error, __ATOMIC_RELAXED) && tdr_now_ns() < give_up)
					tdr_cpu_relax();
			}
		}
		if (loop_i >= 0 && pfd[loop_i].revents && !__atomic_load_n(&r->head, __ATOMIC_ACQUIRE))
			break;
	}
	__atomic_store_n(&r->engine_waiting, 0, __ATOMIC_SEQ_CST);
	/* The engine goes on without waiting here: a hold ends with the wait. */
	bool held = __atomic_exchange_n(&r->hold_until, 0, __ATOMIC_SEQ_CST) > tdr_now_ns();
	if (park || held)
		kick(r->park_fd);
}

/* tunReaderWait(handle, deadlineNs, spin) -> number of packets queued; blocks the
 * JS thread until a packet is queued or CLOCK_MONOTONIC reaches the
 * deadline, or (after WAIT_LOOP_FREE_NS) the event loop has work: see
 * wait_sleep. For waits where the event loop's hand-off is too slow.
 * `spin` false: no spin first (a wait taken up again after the loop ran). */
static napi_value js_reader_wait(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	reader *r = reader_arg(env, info, 3, argv, "tunReaderWait");
	if (!r)
		return NULL;
	int64_t deadline;
	if (!tdr_get_i64(env, argv[1], &deadline))
		return tdr_throw_type(env, "tunReaderWait: deadlineNs must be a bigint");
	bool spin = true;
	if (napi_get_value_bool(env, argv[2], &spin) != napi_ok)
		spin = true;
	/* Look for the packet without sleeping first: the kernel usually
	 * answers what the engine just did within microseconds, and a sleep
	 * here would add a second wake-up (reader thread, then this one) of
	 * some tens of microseconds on a virtual machine. The reader thread
	 * runs above this one, so the spin cannot keep it from the CPU.
	 * Mostly the kernel answered inside the engine's own write, and the
	 * packet is in the TUN (or on the packet socket) before the reader
	 * thread has even woken up for it: the spin reads the fd itself, now
	 * and every DIRECT_READ_EVERY_NS, unless the reader thread is reading
	 * it. */
	int64_t now = tdr_now_ns();
	int64_t spin_until = spin ? now + WAIT_SPIN_NS : now;
	if (spin_until > deadline)
		spin_until = deadline;
	if (r->direct && !r->engine_buf)
		r->engine_buf = malloc(READ_BUF_SIZE);
	int64_t next_read = now;
	while (!__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) && !__atomic_load_n(&r->error, __ATOMIC_RELAXED) &&
	       now < spin_until) {
		if (r->engine_buf && now >= next_read && pthread_mutex_trylock(&r->read_mu) == 0) {
			/* A failure is the reader thread's to meet and report. */
			(void)read_queue_locked(r, r->engine_buf, true, true);
			pthread_mutex_unlock(&r->read_mu);
			next_read = tdr_now_ns() + DIRECT_READ_EVERY_NS;
		} else {
			tdr_cpu_relax();
		}
		now = tdr_now_ns();
	}
	/* Time to spare: the sampler may now query what the engine wrote. */
	if (!__atomic_load_n(&r->head, __ATOMIC_ACQUIRE))
		tdr_sockdiag_wake();
	if (!__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) && !r->stopped && now < deadline)
		wait_sleep(env, r, now, deadline);
	pthread_mutex_lock(&r->mu);
	uint32_t n = queued_locked(r);
	pthread_mutex_unlock(&r->mu);
	napi_value out;
	NAPI_OK(env, napi_create_uint32(env, n, &out));
	return out;
}

/* tunReaderHold(handle, untilNs): the reader thread keeps off the fd until
 * untilNs, or until the end of the engine's next wait_sleep (see
 * hold_until); a time already past ends a hold. A hold that starts or
 * ends wakes the reader thread once, to poll without the fd or with it. */
static napi_value js_reader_hold(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	reader *r = reader_arg(env, info, 2, argv, "tunReaderHold");
	if (!r)
		return NULL;
	int64_t until;
	if (!tdr_get_i64(env, argv[1], &until))
		return tdr_throw_type(env, "tunReaderHold: untilNs must be a bigint");
	int64_t was = __atomic_exchange_n(&r->hold_until, until, __ATOMIC_SEQ_CST);
	int64_t now = tdr_now_ns();
	/* A hold that starts or ends: have the reader thread look again. One
	 * extended or shortened while it lasts waits for the old end, which
	 * the engine keeps away from its events (see inbound-burst.ts). */
	if ((was <= now) != (until <= now) && !r->stopped)
		kick(r->park_fd);
	return NULL;
}

/* tunReaderStampStats(handle) -> { stamped, unstamped, lagCount, lagMaxNs, lagSumNs, directReads }
 * once the reader has stopped (null before): how many packets got the
 * kernel's stamp, how many kept the read time, and how far the reads
 * came after the kernel's stamps (lagCount packets: those sent while the
 * reader ran). */
static napi_value js_reader_stamp_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	reader *r = reader_arg(env, info, 1, argv, "tunReaderStampStats");
	if (!r)
		return NULL;
	napi_value out, v;
	if (!r->stopped) {
		NAPI_OK(env, napi_get_null(env, &out));
		return out;
	}
	NAPI_OK(env, napi_create_object(env, &out));
	NAPI_OK(env, napi_create_double(env, (double)r->stamped, &v));
	NAPI_OK(env, napi_set_named_property(env, out, "stamped", v));
	NAPI_OK(env, napi_create_double(env, (double)r->unstamped, &v));
	NAPI_OK(env, napi_set_named_property(env, out, "unstamped", v));
	NAPI_OK(env, napi_create_double(env, (double)r->lag_count, &v));
	NAPI_OK(env, napi_set_named_property(env, out, "lagCount", v));
	NAPI_OK(env, napi_create_double(env, (double)r->lag_max_ns, &v));
	NAPI_OK(env, napi_set_named_property(env, out, "lagMaxNs", v));
	NAPI_OK(env, napi_create_double(env, (double)r->lag_sum_ns, &v));
	NAPI_OK(env, napi_set_named_property(env, out, "lagSumNs", v));
	NAPI_OK(env, napi_create_double(env, (double)r->direct_reads, &v));
	NAPI_OK(env, napi_set_named_property(env, out, "directReads", v));
	return out;
}

bool tdr_init_tun_reader(napi_env env, napi_value exports)
{
	return tdr_export_fn(env, exports, "tunReaderStampStats", js_reader_stamp_stats) &&
	       tdr_export_fn(env, exports, "tunReaderStart", js_reader_start) &&
	       tdr_export_fn(env, exports, "tunReaderStop", js_reader_stop) &&
	       tdr_export_fn(env, exports, "tunReaderPending", js_reader_pending) &&
	       tdr_export_fn(env, exports, "tunReaderTake", js_reader_take) &&
	       tdr_export_fn(env, exports, "tunReaderWait", js_reader_wait) &&
	       tdr_export_fn(env, exports, "tunReaderHold", js_reader_hold);
}
