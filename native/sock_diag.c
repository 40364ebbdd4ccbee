/*
 * Socket-state sampler: NETLINK_SOCK_DIAG queries of the TCP sockets of one
 * network namespace, as ss reads them, without a process per sample.
 *
 * A sampler owns a netlink socket created on the calling (JS) thread, so it
 * belongs to the network namespace that thread is in when the sampler is
 * started (a netlink socket keeps the namespace it was created in), and a
 * thread of its own that:
 *   - answers per-packet requests: right after the TUN reader reads a packet
 *     and right after a packet is written to the TUN (tun.c, jobs.c call
 *     tdr_sockdiag_note()), it queries the socket of that packet's 4-tuple
 *     (an exact inet_diag lookup, a few microseconds);
 *   - dumps every TCP socket of both families every interval (listeners,
 *     orphans, TIME-WAIT, request sockets and timer-driven changes that no
 *     packet announces).
 * Every reply asks for tcp_info, the congestion control, skmem, memory,
 * TOS/TCLASS and shutdown (idiag_ext all bits), as `ss -tinoem` does.
 *
 * Priorities: per-packet queries run at SCHED_FIFO 1, the lowest real-time
 * priority, when the process may use it: below the reader and timer threads
 * (10), the JS thread (SCHED_RR 3 while the script runs) and the stall
 * monitor (SCHED_FIFO 2), but ahead of
 * ordinary load, so a sample follows its packet within microseconds on a
 * busy machine. Dumps too while they are cheap (under CHEAP_DUMP_NS: a
 * namespace with a socket hash of its own), else as an ordinary
 * (SCHED_OTHER) thread, so that a dump walking the host's whole hash never
 * holds a CPU at real-time priority. The reader thread and the write path
 * only append a 4-tuple to a queue (and the reader signals a condition
 * variable; see below for the write path); the netlink work happens here.
 * Each record carries the CLOCK_MONOTONIC time before the request was sent
 * and after the reply arrived, and the time of the packet that caused it.
 *
 * A packet the JS thread writes (tun.c) does not wake the thread: waking a
 * sleeping thread costs the writer some 15 us on a virtual machine (a futex
 * wake and a cross-CPU interrupt), which put every packet of a burst due at
 * one instant that much behind the one before it. Its request waits, queued,
 * until the engine has time to spare: tdr_sockdiag_wake() (sockDiagWake()
 * from JS) before the engine sleeps or waits for the kernel, the next
 * request of the reader thread, which wakes the thread at once, or at the
 * latest the next interval's dump.
 *
 * Only changes are kept: a socket's reply is compared with the last one kept
 * for it (same cookie), leaving out the fields that move with the clock
 * alone (idiag_expires, tcpi_last_data_sent/ack_sent/data_recv/ack_recv,
 * tcpi_busy_time, tcpi_rwnd_limited, tcpi_sndbuf_limited,
 * tcpi_total_rto_time); the timer counts as changed when its expiry time
 * (sample time + idiag_expires) moved by more than TIMER_SLACK_NS. A socket
 * a dump no longer lists gives a "gone" record. Each record says since when
 * the previous state was last seen (sinceNs), so a timeline of changes still
 * bounds every transition.
 *
 * Records wait in a queue until JS takes them (off the engine's hot path).
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sched.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RECV_BUF_SIZE (256 * 1024)
#define MAX_SAMPLERS 8
#define MAX_PENDING 4096
/* Larger than a jiffy at HZ=100 (the coarsest expiry resolution) plus the
 * millisecond truncation of idiag_expires. */
#define TIMER_SLACK_NS 12000000LL
#define STAT_CAP 200000
/* tunFd value for "every TUN this process reads or writes" (one run per
 * process, where the engine owns the fd). */
#define ANY_TUN (-2)
/* Every TCP state up to TCP_NEW_SYN_RECV (12); not TCP_BOUND_INACTIVE (13),
 * whose dump walks the bind hash every namespace shares (ss leaves it out
 * too unless asked). */
#define ALL_STATES ((1u << 13) - 1)
#define TCP_LISTEN_STATE 10
#define LISTEN_BIT (1u << TCP_LISTEN_STATE)
/* A dump that includes listeners walks the listening hash, which every
 * namespace shares (a fixed cost of a few hundred microseconds even in an
 * empty namespace); only every LISTEN_EVERY-th dump does, and per-packet
 * queries of injected packets also read the listener of their port. */
#define LISTEN_EVERY 10
#define CHEAP_DUMP_NS 200000LL

enum { CAUSE_DUMP = 0, CAUSE_IN = 1, CAUSE_OUT = 2, CAUSE_FINAL = 3 };
enum { KIND_SOCKET = 0, KIND_GONE = 1 };

/* Offsets inside struct inet_diag_msg and struct tcp_info. */
#define MSG_EXPIRES_OFF 52
#define TI_LAST_FROM 44   /* tcpi_last_data_sent .. tcpi_last_ack_recv */
#define TI_LAST_TO 60
#define TI_BUSY_FROM 168  /* tcpi_busy_time, rwnd_limited, sndbuf_limited */
#define TI_BUSY_TO 192
#define TI_RTO_TIME_FROM 244 /* tcpi_total_rto_time */
#define TI_RTO_TIME_TO 248

typedef struct sd_rec {
	struct sd_rec *next;
	int64_t ts_ns;    /* before the request */
	int64_t end_ns;   /* reply complete */
	int64_t since_ns; /* previous state last seen (0: first sighting) */
	int64_t pkt_ns;   /* the packet's time stamp (per-packet queries) */
	uint8_t cause;
	uint8_t kind;
	uint32_t len;
	unsigned char data[];
} sd_rec;

typedef struct sd_query {
	uint8_t family;
	uint8_t cause;
	bool syn_or_ack; /* may change a listener's queue */
	uint16_t sport, dport; /* network order */
	uint8_t src[16], dst[16];
	int64_t pkt_ns;
} sd_query;

typedef struct sd_sock {
	uint64_t cookie;
	unsigned char *last; /* last record kept */
	uint32_t len;
	int64_t seen_ns;     /* last sample that showed this state */
	int64_t deadline_ns; /* timer expiry of the kept record */
	uint32_t gen;        /* dump generation that last listed it */
} sd_sock;

typedef struct stats {
	int32_t *v;
	size_t n, cap;
} stats;

typedef struct sampler {
	int nl;
	int tun_fd;
	size_t vnet_len;
	int64_t interval_ns;
	pthread_t thread;
	bool started;
	bool stopped;      /* JS thread only */
	unsigned char *buf;
	uint32_t seq;

	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;
	bool stop;
	bool wake_due; /* a request is queued that no signal announced (tdr_sockdiag_note defer) */
	sd_query pending[MAX_PENDING];
	size_t npending;
	uint64_t merged;  /* requests folded into one already queued */
	uint64_t dropped; /* requests lost to a full queue */
	sd_rec *head, *tail;
	/* Records the JS thread has taken, for the sampler thread to free:
	 * they came from its malloc arena, whose lock it may hold while it
	 * waits for a CPU as an ordinary thread. */
	sd_rec *spent;
	size_t queued_bytes;
	int error;
	/* Thread only (read by JS after join, or under mu for counters). */
	sd_sock *socks;
	size_t nsocks, capsocks;
	uint32_t gen;
	uint64_t dumps, queries, records, replies, not_found;
	stats dump_cost, query_cost, lag;
	struct dump_acc *acc;
	int64_t cpu_ns; /* CPU time the thread used, set when it ends */
	int64_t last_dump_ns; /* duration of the last dump */
} sampler;

/* Samplers that want per-packet requests, by TUN fd. */
static pthread_mutex_t registry_mu;
static sampler *registry[MAX_SAMPLERS];

/* The JS thread, the reader threads and the sampler threads (ordinary
 * threads while a dump walks a large hash) share the registry's and each
 * sampler's mutex: priority inheritance. */
__attribute__((constructor)) static void sock_diag_init_locks(void)
{
	tdr_mutex_init(&registry_mu);
}

static void stat_add(stats *s, int64_t v)
{
	if (s->n == s->cap) {
		if (s->cap >= STAT_CAP)
			return;
		size_t cap = s->cap ? s->cap * 2 : 1024;
		int32_t *p = realloc(s->v, cap * sizeof(*p));
		if (!p)
			return;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

/* ---- per-packet requests ----------------------------------------------- */

/* Whether a sampler may have a request queued but not signalled
 * (tdr_sockdiag_wake() signals them); read without the lock, so that a
 * wake with nothing due costs one load. Set and cleared under registry_mu. */
static bool wake_due_any;

/* Called by the TUN reader (dir CAUSE_OUT: the kernel sent it) and the
 * write path (CAUSE_IN: tundrill injected it) with the frame as read or
 * written, virtio-net header included. Cheap: parse the 4-tuple, queue it,
 * and signal the thread, or with `defer` leave that to tdr_sockdiag_wake(). */
void tdr_sockdiag_note(int fd, const void *frame, size_t len, int64_t ts, int inbound, bool defer)
{
	pthread_mutex_lock(&registry_mu);
	for (int i = 0; i < MAX_SAMPLERS; i++) {
		sampler *s = registry[i];
		if (!s || (s->tun_fd != fd && s->tun_fd != ANY_TUN))
			continue;
		const uint8_t *p = (const uint8_t *)frame + s->vnet_len;
		if (len < s->vnet_len + 20)
			continue;
		size_t n = len - s->vnet_len;
		sd_query q = { .cause = inbound ? CAUSE_IN : CAUSE_OUT, .pkt_ns = ts };
		const uint8_t *l4;
		const uint8_t *saddr, *daddr;
		size_t alen;
		if ((p[0] >> 4) == 4) {
			size_t ihl = (size_t)(p[0] & 0xf) * 4;
			if (p[9] != IPPROTO_TCP || ihl < 20 || n < ihl + 4)
				continue;
			q.family = AF_INET;
			saddr = p + 12;
			daddr = p + 16;
			alen = 4;
			l4 = p + ihl;
		} else if ((p[0] >> 4) == 6) {
			if (n < 44 || p[6] != IPPROTO_TCP)
				continue;
			q.family = AF_INET6;
			saddr = p + 8;
			daddr = p + 24;
			alen = 16;
			l4 = p + 40;
		} else {
			continue;
		}
		/* The socket's own side is the source of what the kernel sent
		 * and the destination of what was injected. */
		const uint8_t *lport = inbound ? l4 + 2 : l4;
		const uint8_t *rport = inbound ? l4 : l4 + 2;
		memcpy(q.src, inbound ? daddr : saddr, alen);
		memcpy(q.dst, inbound ? saddr : daddr, alen);
		memcpy(&q.sport, lport, 2);
		memcpy(&q.dport, rport, 2);
		if ((size_t)(l4 - p) + 14 <= n)
			q.syn_or_ack = (l4[13] & 0x12) != 0; /* SYN or ACK */

		pthread_mutex_lock(&s->mu);
		bool folded = false;
		for (size_t k = 0; k < s->npending; k++) {
			sd_query *o = &s->pending[k];
			if (o->family == q.family && o->sport == q.sport && o->dport == q.dport &&
			    !memcmp(o->src, q.src, 16) && !memcmp(o->dst, q.dst, 16)) {
				/* One query after both packets: the later packet names it. */
				o->cause = q.cause;
				o->pkt_ns = q.pkt_ns;
				s->merged++;
				folded = true;
				break;
			}
		}
		if (!folded) {
			if (s->npending < MAX_PENDING)
				s->pending[s->npending++] = q;
			else
				s->dropped++;
		}
		if (!defer) {
			pthread_cond_signal(&s->cv);
			s->wake_due = false;
		} else {
			s->wake_due = true;
			__atomic_store_n(&wake_due_any, true, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_unlock(&registry_mu);
}

/* Signals the samplers whose requests tdr_sockdiag_note() deferred; nothing
 * but an atomic load when none did. */
void tdr_sockdiag_wake(void)
{
	if (!__atomic_load_n(&wake_due_any, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&registry_mu);
	for (int i = 0; i < MAX_SAMPLERS; i++) {
		sampler *s = registry[i];
		if (!s)
			continue;
		pthread_mutex_lock(&s->mu);
		if (s->wake_due) {
			s->wake_due = false;
			pthread_cond_signal(&s->cv);
		}
		pthread_mutex_unlock(&s->mu);
	}
	__atomic_store_n(&wake_due_any, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&registry_mu);
}

/* ---- netlink ----------------------------------------------------------- */

static int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	int sz = RECV_BUF_SIZE;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

/* Send one request to the kernel's sock_diag; 0 or -errno. */
static int nl_send_to_kernel(int fd, const void *req, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	ssize_t n;
	do {
		n = sendto(fd, req, len, 0, (struct sockaddr *)&sa, sizeof(sa));
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

/* A dump of both families in one walk of the established hash: the
 * original inet_diag request (TCPDIAG_GETSOCK), which the kernel serves as
 * an AF_UNSPEC dump; sock_diag's own request takes one family at a time.
 * Same replies, same extensions. */
static int nl_send_dump_all(int fd, uint32_t seq, uint32_t states)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req r;
	} req;
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = TCPDIAG_GETSOCK;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = seq;
	req.r.idiag_family = AF_INET;
	req.r.idiag_ext = 0xff;
	req.r.idiag_states = states;
	return nl_send_to_kernel(fd, &req, sizeof(req));
}

static int nl_send(int fd, uint32_t seq, const sd_query *q, int family, bool dump)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0);
	req.nlh.nlmsg_seq = seq;
	req.r.sdiag_family = (uint8_t)family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_ext = 0xff; /* every extension: meminfo .. shutdown */
	req.r.idiag_states = ALL_STATES;
	if (q) {
		req.r.id.idiag_sport = q->sport;
		req.r.id.idiag_dport = q->dport;
		memcpy(req.r.id.idiag_src, q->src, 16);
		memcpy(req.r.id.idiag_dst, q->dst, 16);
		req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
		req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	}
	return nl_send_to_kernel(fd, &req, sizeof(req));
}

typedef void (*reply_fn)(void *ctx, const struct nlmsghdr *h);

/* Read replies to `seq` until NLMSG_DONE (dump) or the first reply/error
 * (exact query). Returns 0, or -errno (ENOENT: no such socket). */
static int nl_recv(int fd, unsigned char *buf, uint32_t seq, bool dump, reply_fn fn, void *ctx)
{
	for (;;) {
		ssize_t n = recv(fd, buf, RECV_BUF_SIZE, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				return e->error;
			}
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY || h->nlmsg_type == TCPDIAG_GETSOCK)
				fn(ctx, h);
			if (!dump)
				return 0;
		}
	}
}

/* ---- change detection -------------------------------------------------- */

static const struct nlattr *find_attr(const unsigned char *rec, uint32_t len, int type, uint32_t *off)
{
	uint32_t o = NLMSG_ALIGN(sizeof(struct inet_diag_msg));
	while (o + NLA_HDRLEN <= len) {
		const struct nlattr *a = (const struct nlattr *)(rec + o);
		if (a->nla_len < NLA_HDRLEN || o + a->nla_len > len)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == type) {
			*off = o + NLA_HDRLEN;
			return a;
		}
		o += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

static bool in_range(uint32_t i, uint32_t base, uint32_t from, uint32_t to)
{
	return i >= base + from && i < base + to;
}

/* Equal but for the fields that move with the clock alone. */
static bool same_state(const unsigned char *a, uint32_t alen, const unsigned char *b, uint32_t blen)
{
	if (alen != blen)
		return false;
	uint32_t ti = 0, ti_len = 0;
	const struct nlattr *info = find_attr(a, alen, INET_DIAG_INFO, &ti);
	if (info)
		ti_len = info->nla_len - NLA_HDRLEN;
	for (uint32_t i = 0; i < alen; i++) {
		if (a[i] == b[i])
			continue;
		if (i >= MSG_EXPIRES_OFF && i < MSG_EXPIRES_OFF + 4)
			continue;
		if (info && i >= ti && i < ti + ti_len &&
		    (in_range(i, ti, TI_LAST_FROM, TI_LAST_TO) ||
		     in_range(i, ti, TI_BUSY_FROM, TI_BUSY_TO) ||
		     in_range(i, ti, TI_RTO_TIME_FROM, TI_RTO_TIME_TO)))
			continue;
		return false;
	}
	return true;
}

static int64_t timer_deadline(const struct inet_diag_msg *m, int64_t ts)
{
	if (!m->idiag_timer)
		return 0;
	return ts + (int64_t)m->idiag_expires * 1000000LL;
}

static uint64_t cookie_of(const struct inet_diag_msg *m)
{
	return (uint64_t)m->id.idiag_cookie[0] | ((uint64_t)m->id.idiag_cookie[1] << 32);
}

static void push_rec(sampler *s, int64_t ts, int64_t end, int64_t since, int64_t pkt,
		     uint8_t cause, uint8_t kind, const void *data, uint32_t len)
{
	sd_rec *r = malloc(sizeof(*r) + len);
	if (!r) {
		s->error = ENOMEM;
		return;
	}
	r->next = NULL;
	r->ts_ns = ts;
	r->end_ns = end;
	r->since_ns = since;
	r->pkt_ns = pkt;
	r->cause = cause;
	r->kind = kind;
	r->len = len;
	memcpy(r->data, data, len);
	pthread_mutex_lock(&s->mu);
	if (s->tail)
		s->tail->next = r;
	else
		s->head = r;
	s->tail = r;
	s->queued_bytes += len;
	s->records++;
	pthread_mutex_unlock(&s->mu);
}

static sd_sock *find_sock(sampler *s, uint64_t cookie)
{
	for (size_t i = 0; i < s->nsocks; i++)
		if (s->socks[i].cookie == cookie)
			return &s->socks[i];
	return NULL;
}

typedef struct reply_ctx {
	sampler *s;
	int64_t ts, end, pkt;
	uint8_t cause;
	bool dump;
} reply_ctx;

/* One socket's reply: keep it when it differs from the last kept state. */
static void on_reply(void *arg, const struct nlmsghdr *h)
{
	reply_ctx *c = arg;
	sampler *s = c->s;
	uint32_t len = h->nlmsg_len - NLMSG_HDRLEN;
	if (len < sizeof(struct inet_diag_msg))
		return;
	const unsigned char *rec = NLMSG_DATA(h);
	const struct inet_diag_msg *m = (const struct inet_diag_msg *)rec;
	s->replies++;
	uint64_t cookie = cookie_of(m);
	sd_sock *k = find_sock(s, cookie);
	int64_t deadline = timer_deadline(m, c->ts);
	if (k) {
		if (c->dump)
			k->gen = s->gen;
		int64_t moved = deadline - k->deadline_ns;
		bool timer_same;
		if ((deadline == 0) != (k->deadline_ns == 0))
			timer_same = false;
		else if (deadline == 0)
			timer_same = true;
		else if (m->idiag_expires == 0)
			/* Due or overdue (the kernel clamps at 0; long timers fire
			 * up to 1/8 late): the same timer if it was due by now. */
			timer_same = k->deadline_ns <= c->ts + TIMER_SLACK_NS;
		else
			timer_same = moved <= TIMER_SLACK_NS && moved >= -TIMER_SLACK_NS;
		if (timer_same && same_state(k->last, k->len, rec, len)) {
			k->seen_ns = c->end;
			return;
		}
		unsigned char *copy = malloc(len);
		if (!copy) {
			s->error = ENOMEM;
			return;
		}
		push_rec(s, c->ts, c->end, k->seen_ns, c->pkt, c->cause, KIND_SOCKET, rec, len);
		free(k->last);
		memcpy(copy, rec, len);
		k->last = copy;
		k->len = len;
		k->seen_ns = c->end;
		k->deadline_ns = deadline;
		return;
	}
	if (s->nsocks == s->capsocks) {
		size_t cap = s->capsocks ? s->capsocks * 2 : 16;
		sd_sock *p = realloc(s->socks, cap * sizeof(*p));
		if (!p) {
			s->error = ENOMEM;
			return;
		}
		s->socks = p;
		s->capsocks = cap;
	}
	unsigned char *copy = malloc(len);
	if (!copy) {
		s->error = ENOMEM;
		return;
	}
	memcpy(copy, rec, len);
	s->socks[s->nsocks++] = (sd_sock){ .cookie = cookie, .last = copy, .len = len,
					   .seen_ns = c->end, .deadline_ns = deadline,
					   .gen = c->dump ? s->gen : s->gen - 1 };
	push_rec(s, c->ts, c->end, 0, c->pkt, c->cause, KIND_SOCKET, rec, len);
}

/* Exact query: collect the reply first, then judge it with its end time. */
typedef struct one_reply {
	unsigned char *data;
	uint32_t len;
	uint32_t cap;
} one_reply;

static void keep_reply(void *arg, const struct nlmsghdr *h)
{
	one_reply *o = arg;
	uint32_t len = h->nlmsg_len;
	if (len > o->cap)
		return;
	memcpy(o->data, h, len);
	o->len = len;
}

static void run_query(sampler *s, const sd_query *q)
{
	static __thread unsigned char one[16384];
	one_reply o = { .data = one, .len = 0, .cap = sizeof(one) };
	reply_ctx c = { .s = s, .pkt = q->pkt_ns, .cause = q->cause, .dump = false };
	c.ts = tdr_now_ns();
	uint32_t seq = ++s->seq;
	int rc = nl_send(s->nl, seq, q, q->family, false);
	if (rc == 0)
		rc = nl_recv(s->nl, s->buf, seq, false, keep_reply, &o);
	c.end = tdr_now_ns();
	s->queries++;
	stat_add(&s->query_cost, c.end - c.ts);
	stat_add(&s->lag, c.ts - q->pkt_ns);
	if (rc == -ENOENT) {
		s->not_found++;
		return;
	}
	if (rc < 0) {
		s->error = -rc;
		return;
	}
	if (o.len)
		on_reply(&c, (const struct nlmsghdr *)o.data);
}

/* The listener an injected packet's port has, if any: the exact lookup with
 * no remote side finds only listening sockets. */
static void run_listener_query(sampler *s, const sd_query *q)
{
	sd_query l = *q;
	memset(l.dst, 0, sizeof(l.dst));
	l.dport = 0;
	run_query(s, &l);
}

/* Dump replies are judged with the dump's start time as their time; the
 * end time is set once the dump is complete. Collect, then judge. */
typedef struct dump_acc {
	unsigned char *data;
	size_t len, cap;
	bool oom;
} dump_acc;

static void acc_reply(void *arg, const struct nlmsghdr *h)
{
	dump_acc *a = arg;
	size_t need = a->len + NLMSG_ALIGN(h->nlmsg_len);
	if (need > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 65536;
		while (cap < need)
			cap *= 2;
		unsigned char *p = realloc(a->data, cap);
		if (!p) {
			a->oom = true;
			return;
		}
		a->data = p;
		a->cap = cap;
	}
	memcpy(a->data + a->len, h, h->nlmsg_len);
	a->len = need;
}

static void run_dump(sampler *s, uint8_t cause, bool with_listeners)
{
	dump_acc acc = *s->acc;
	acc.len = 0;
	acc.oom = false;
	reply_ctx c = { .s = s, .pkt = 0, .cause = cause, .dump = true };
	c.ts = tdr_now_ns();
	/* AF_UNSPEC: both families in one walk of the established hash. */
	uint32_t seq = ++s->seq;
	int rc = nl_send_dump_all(s->nl, seq, with_listeners ? ALL_STATES : ALL_STATES & ~LISTEN_BIT);
	if (rc == 0)
		rc = nl_recv(s->nl, s->buf, seq, true, acc_reply, &acc);
	c.end = tdr_now_ns();
	*s->acc = acc;
	s->dumps++;
	s->last_dump_ns = c.end - c.ts;
	stat_add(&s->dump_cost, c.end - c.ts);
	if (rc < 0 || acc.oom) {
		s->error = rc < 0 ? -rc : ENOMEM;
		return;
	}
	s->gen++;
	for (size_t o = 0; o < acc.len;) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)(acc.data + o);
		on_reply(&c, h);
		o += NLMSG_ALIGN(h->nlmsg_len);
	}
	/* Sockets this dump did not list are gone. */
	for (size_t i = 0; i < s->nsocks;) {
		sd_sock *k = &s->socks[i];
		if (k->gen == s->gen ||
		    (!with_listeners && ((const struct inet_diag_msg *)k->last)->idiag_state == TCP_LISTEN_STATE)) {
			i++;
			continue;
		}
		push_rec(s, c.ts, c.end, k->seen_ns, 0, cause, KIND_GONE, k->last, k->len);
		free(k->last);
		s->socks[i] = s->socks[--s->nsocks];
	}
}

static void set_query_priority(bool rt)
{
	if (!tdr_rt_wanted())
		return;
	struct sched_param sp = { .sched_priority = rt ? 1 : 0 };
	pthread_setschedparam(pthread_self(), rt ? SCHED_FIFO : SCHED_OTHER, &sp);
}

static void free_recs(sd_rec *r)
{
	while (r) {
		sd_rec *next = r->next;
		free(r);
		r = next;
	}
}

static void *sampler_main(void *arg)
{
	sampler *s = arg;
	tdr_thread_setup();
	set_query_priority(true);
	int64_t next = tdr_now_ns();
	sd_query batch[64];
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (!s->stop && s->npending == 0 && tdr_now_ns() < next) {
			struct timespec ts = { .tv_sec = (time_t)(next / 1000000000LL),
					       .tv_nsec = (long)(next % 1000000000LL) };
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		}
		bool stop = s->stop;
		size_t n = s->npending < 64 ? s->npending : 64;
		memcpy(batch, s->pending, n * sizeof(batch[0]));
		memmove(s->pending, s->pending + n, (s->npending - n) * sizeof(batch[0]));
		s->npending -= n;
		sd_rec *spent = s->spent;
		s->spent = NULL;
		pthread_mutex_unlock(&s->mu);
		free_recs(spent);

		for (size_t i = 0; i < n; i++) {
			run_query(s, &batch[i]);
			if (batch[i].cause == CAUSE_IN && batch[i].syn_or_ack)
				run_listener_query(s, &batch[i]);
		}
		if (stop) {
			set_query_priority(false);
			run_dump(s, CAUSE_FINAL, true);
			struct timespec cpu;
			if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
				s->cpu_ns = (int64_t)cpu.tv_sec * 1000000000LL + cpu.tv_nsec;
			break;
		}
		int64_t now = tdr_now_ns();
		if (s->interval_ns > 0 && now >= next) {
			bool cheap = s->last_dump_ns > 0 && s->last_dump_ns < CHEAP_DUMP_NS;
			if (!cheap)
				set_query_priority(false);
			run_dump(s, CAUSE_DUMP, s->dumps % LISTEN_EVERY == 0);
			if (!cheap)
				set_query_priority(true);
			/* Stay on the grid; skip ticks a slow dump overran. */
			next += s->interval_ns;
			now = tdr_now_ns();
			if (next <= now)
				next += ((now - next) / s->interval_ns + 1) * s->interval_ns;
		} else if (s->interval_ns <= 0) {
			next = INT64_MAX;
		}
	}
	return NULL;
}

/* ---- JS interface ------------------------------------------------------ */

static void sampler_free(sampler *s)
{
	free_recs(s->head);
	free_recs(s->spent);
	for (size_t i = 0; i < s->nsocks; i++)
		free(s->socks[i].last);
	free(s->socks);
	free(s->dump_cost.v);
	free(s->query_cost.v);
	free(s->lag.v);
	free(s->buf);
	if (s->acc)
		free(s->acc->data);
	free(s->acc);
	if (s->nl >= 0)
		close(s->nl);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static void unregister(sampler *s)
{
	pthread_mutex_lock(&registry_mu);
	for (int i = 0; i < MAX_SAMPLERS; i++)
		if (registry[i] == s)
			registry[i] = NULL;
	pthread_mutex_unlock(&registry_mu);
}

static void sampler_halt(sampler *s)
{
	if (s->stopped)
		return;
	unregister(s);
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->started)
		pthread_join(s->thread, NULL);
	s->stopped = true;
}

static void env_cleanup(void *arg)
{
	sampler_halt(arg);
}

static void handle_finalize(napi_env env, void *data, void *hint)
{
	(void)hint;
	sampler *s = data;
	if (!s->stopped) {
		napi_remove_env_cleanup_hook(env, env_cleanup, s);
		sampler_halt(s);
	}
	sampler_free(s);
}

static const char *CAUSES[] = { "dump", "in", "out", "final" };

static napi_value rec_to_js(napi_env env, const sd_rec *r)
{
	napi_value o, v;
	if (napi_create_object(env, &o) != napi_ok)
		return NULL;
	if (napi_create_bigint_int64(env, r->ts_ns, &v) != napi_ok ||
	    napi_set_named_property(env, o, "tsNs", v) != napi_ok ||
	    napi_create_bigint_int64(env, r->end_ns, &v) != napi_ok ||
	    napi_set_named_property(env, o, "endNs", v) != napi_ok ||
	    napi_create_bigint_int64(env, r->since_ns, &v) != napi_ok ||
	    napi_set_named_property(env, o, "sinceNs", v) != napi_ok ||
	    napi_create_bigint_int64(env, r->pkt_ns, &v) != napi_ok ||
	    napi_set_named_property(env, o, "packetNs", v) != napi_ok ||
	    napi_create_string_utf8(env, CAUSES[r->cause & 3], NAPI_AUTO_LENGTH, &v) != napi_ok ||
	    napi_set_named_property(env, o, "cause", v) != napi_ok ||
	    napi_get_boolean(env, r->kind == KIND_GONE, &v) != napi_ok ||
	    napi_set_named_property(env, o, "gone", v) != napi_ok ||
	    napi_create_buffer_copy(env, r->len, r->data, NULL, &v) != napi_ok ||
	    napi_set_named_property(env, o, "data", v) != napi_ok)
		return NULL;
	return o;
}

static napi_value recs_to_array(napi_env env, sd_rec *list)
{
	napi_value arr;
	if (napi_create_array(env, &arr) != napi_ok)
		return NULL;
	uint32_t i = 0;
	bool ok = true;
	for (sd_rec *r = list; r; r = r->next) {
		napi_value o = ok ? rec_to_js(env, r) : NULL;
		ok = o && napi_set_element(env, arr, i++, o) == napi_ok;
	}
	if (!ok) {
		tdr_throw_last_napi_error(env, "sockDiag records");
		return NULL;
	}
	return arr;
}

static sampler *sampler_arg(napi_env env, napi_callback_info info, napi_value *argv, size_t want)
{
	size_t argc = want;
	void *p = NULL;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want ||
	    napi_unwrap(env, argv[0], &p) != napi_ok || !p) {
		tdr_throw_type(env, "not a sock_diag sampler handle");
		return NULL;
	}
	return p;
}

/* sockDiagStart(tunFd, vnetHdrLen, intervalNs) -> handle. tunFd -1: no
 * per-packet requests, -2: the packets of every TUN; intervalNs 0: no
 * periodic dumps. */
static napi_value js_start(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	int fd;
	int64_t vnet, interval;
	if (argc < 3)
		return tdr_throw_type(env, "sockDiagStart(tunFd, vnetHdrLen, intervalNs) needs three arguments");
	int64_t fd64;
	if (!tdr_get_i64(env, argv[0], &fd64) || fd64 < ANY_TUN || fd64 > INT32_MAX)
		return tdr_throw_type(env, "sockDiagStart: tunFd must be an fd, -1 (none) or -2 (any)");
	fd = (int)fd64;
	if (!tdr_get_i64(env, argv[1], &vnet) || vnet < 0 || vnet > 64)
		return tdr_throw_type(env, "sockDiagStart: vnetHdrLen must be 0..64");
	if (!tdr_get_i64(env, argv[2], &interval) || interval < 0)
		return tdr_throw_type(env, "sockDiagStart: intervalNs must be >= 0");
	sampler *s = calloc(1, sizeof(*s));
	if (!s)
		return tdr_throw_errno(env, "sockDiagStart", ENOMEM);
	s->nl = -1;
	s->tun_fd = fd;
	s->vnet_len = (size_t)vnet;
	s->interval_ns = interval;
	tdr_mutex_init(&s->mu);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->buf = malloc(RECV_BUF_SIZE);
	s->acc = calloc(1, sizeof(*s->acc));
	int nl = s->buf && s->acc ? nl_open() : -ENOMEM;
	if (nl < 0) {
		s->stopped = true;
		sampler_free(s);
		return tdr_throw_errno(env, "sockDiagStart: netlink socket", -nl);
	}
	s->nl = nl;
	napi_value handle;
	if (napi_create_object(env, &handle) != napi_ok ||
	    napi_wrap(env, handle, s, handle_finalize, NULL, NULL) != napi_ok) {
		s->stopped = true;
		sampler_free(s);
		tdr_throw_last_napi_error(env, "sockDiagStart: napi_wrap");
		return NULL;
	}
	if (fd >= 0 || fd == ANY_TUN) {
		pthread_mutex_lock(&registry_mu);
		int slot = -1;
		for (int i = 0; i < MAX_SAMPLERS && slot < 0; i++)
			if (!registry[i])
				slot = i;
		if (slot >= 0)
			registry[slot] = s;
		pthread_mutex_unlock(&registry_mu);
		if (slot < 0) {
			s->stopped = true;
			return tdr_throw_error(env, "sockDiagStart: too many samplers at once");
		}
	}
	int rc = tdr_thread_create(&s->thread, false, false, sampler_main, s);
	if (rc) {
		unregister(s);
		s->stopped = true;
		return tdr_throw_errno(env, "sockDiagStart: pthread_create", rc);
	}
	s->started = true;
	napi_add_env_cleanup_hook(env, env_cleanup, s);
	return handle;
}

/* sockDiagTake(handle) -> records kept since the last take. */
static napi_value js_take(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	sampler *s = sampler_arg(env, info, argv, 1);
	if (!s)
		return NULL;
	pthread_mutex_lock(&s->mu);
	sd_rec *list = s->head, *last = s->tail;
	s->head = s->tail = NULL;
	s->queued_bytes = 0;
	pthread_mutex_unlock(&s->mu);
	napi_value arr = recs_to_array(env, list);
	if (list) {
		/* Back to the sampler thread, which frees them. */
		pthread_mutex_lock(&s->mu);
		last->next = s->spent;
		s->spent = list;
		pthread_mutex_unlock(&s->mu);
	}
	return arr;
}

/* sockDiagStop(handle) -> the records left, after one final dump. */
static napi_value js_stop(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	sampler *s = sampler_arg(env, info, argv, 1);
	if (!s)
		return NULL;
	if (!s->stopped) {
		napi_remove_env_cleanup_hook(env, env_cleanup, s);
		sampler_halt(s);
	}
	pthread_mutex_lock(&s->mu);
	sd_rec *list = s->head;
	s->head = s->tail = NULL;
	pthread_mutex_unlock(&s->mu);
	napi_value arr = recs_to_array(env, list);
	free_recs(list); /* the sampler thread has ended */
	return arr;
}

static napi_value stats_array(napi_env env, const stats *st)
{
	napi_value ab, arr;
	void *p;
	if (napi_create_arraybuffer(env, st->n * sizeof(int32_t), &p, &ab) != napi_ok ||
	    napi_create_typedarray(env, napi_int32_array, st->n, ab, 0, &arr) != napi_ok)
		return NULL;
	if (st->n)
		memcpy(p, st->v, st->n * sizeof(int32_t));
	return arr;
}

static bool set_u64(napi_env env, napi_value o, const char *name, uint64_t v)
{
	napi_value x;
	return napi_create_double(env, (double)v, &x) == napi_ok &&
	       napi_set_named_property(env, o, name, x) == napi_ok;
}

/* sockDiagStats(handle) -> counters and per-sample costs (ns); the cost
 * arrays are complete only after stop (the thread appends to them). */
static napi_value js_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	sampler *s = sampler_arg(env, info, argv, 1);
	if (!s)
		return NULL;
	napi_value o, v;
	NAPI_OK(env, napi_create_object(env, &o));
	pthread_mutex_lock(&s->mu);
	bool ok = set_u64(env, o, "dumps", s->dumps) && set_u64(env, o, "queries", s->queries) &&
		  set_u64(env, o, "records", s->records) && set_u64(env, o, "replies", s->replies) &&
		  set_u64(env, o, "notFound", s->not_found) && set_u64(env, o, "merged", s->merged) &&
		  set_u64(env, o, "dropped", s->dropped) && set_u64(env, o, "error", (uint64_t)s->error) &&
		  set_u64(env, o, "cpuNs", (uint64_t)s->cpu_ns);
	pthread_mutex_unlock(&s->mu);
	if (!ok)
		return NULL;
	if (s->stopped) {
		if (!(v = stats_array(env, &s->dump_cost)) || napi_set_named_property(env, o, "dumpCostNs", v) != napi_ok ||
		    !(v = stats_array(env, &s->query_cost)) || napi_set_named_property(env, o, "queryCostNs", v) != napi_ok ||
		    !(v = stats_array(env, &s->lag)) || napi_set_named_property(env, o, "queryLagNs", v) != napi_ok)
			return NULL;
	}
	return o;
}

/* sockDiagDumpNow() -> { tsNs, endNs, records: Buffer[] }: every TCP socket
 * of the calling thread's namespace, read on this thread (tests, checks). */
static void collect(void *arg, const struct nlmsghdr *h)
{
	dump_acc *a = arg;
	acc_reply(a, h);
}

static napi_value dump_result(napi_env env, int64_t ts, int64_t end, dump_acc *acc)
{
	napi_value o, arr, v;
	NAPI_OK(env, napi_create_object(env, &o));
	NAPI_OK(env, napi_create_array(env, &arr));
	uint32_t i = 0;
	for (size_t off = 0; off < acc->len;) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)(acc->data + off);
		NAPI_OK(env, napi_create_buffer_copy(env, h->nlmsg_len - NLMSG_HDRLEN, NLMSG_DATA(h), NULL, &v));
		NAPI_OK(env, napi_set_element(env, arr, i++, v));
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	NAPI_OK(env, napi_set_named_property(env, o, "records", arr));
	NAPI_OK(env, napi_create_bigint_int64(env, ts, &v));
	NAPI_OK(env, napi_set_named_property(env, o, "tsNs", v));
	NAPI_OK(env, napi_create_bigint_int64(env, end, &v));
	NAPI_OK(env, napi_set_named_property(env, o, "endNs", v));
	return o;
}

static napi_value js_dump_now(napi_env env, napi_callback_info info)
{
	(void)info;
	int fd = nl_open();
	if (fd < 0)
		return tdr_throw_errno(env, "sockDiagDumpNow: netlink socket", -fd);
	unsigned char *buf = malloc(RECV_BUF_SIZE);
	dump_acc acc = { 0 };
	int rc = buf ? 0 : -ENOMEM;
	int64_t ts = tdr_now_ns();
	if (rc == 0)
		rc = nl_send_dump_all(fd, 1, ALL_STATES);
	if (rc == 0)
		rc = nl_recv(fd, buf, 1, true, collect, &acc);
	int64_t end = tdr_now_ns();
	close(fd);
	free(buf);
	if (rc < 0 || acc.oom) {
		free(acc.data);
		return tdr_throw_errno(env, "sockDiagDumpNow", rc < 0 ? -rc : ENOMEM);
	}
	napi_value out = dump_result(env, ts, end, &acc);
	free(acc.data);
	return out;
}

/* sockDiagWake(): the engine has time to spare; signals the samplers whose
 * requests its own writes queued (tdr_sockdiag_wake). */
static napi_value js_wake(napi_env env, napi_callback_info info)
{
	(void)env;
	(void)info;
	tdr_sockdiag_wake();
	return NULL;
}

bool tdr_init_sock_diag(napi_env env, napi_value exports)
{
	return tdr_export_fn(env, exports, "sockDiagStart", js_start) &&
	       tdr_export_fn(env, exports, "sockDiagTake", js_take) &&
	       tdr_export_fn(env, exports, "sockDiagStop", js_stop) &&
	       tdr_export_fn(env, exports, "sockDiagStats", js_stats) &&
	       tdr_export_fn(env, exports, "sockDiagDumpNow", js_dump_now) &&
	       tdr_export_fn(env, exports, "sockDiagWake", js_wake);
}
