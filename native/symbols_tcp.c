/*
 * Names from <linux/tcp.h> that the C library's <netinet/tcp.h> lacks
 * (the two headers cannot be included together): the TCP_NLA_* attribute
 * types of SCM_TIMESTAMPING_OPT_STATS, which are enum constants.
 */
#include "common.h"

#include <linux/tcp.h>

#define S(name) { #name, (int64_t)(name) }

const struct tdr_sym tdr_tcp_uapi_syms[] = {
	S(TCP_NLA_BUSY),
	S(TCP_NLA_RWND_LIMITED),
	S(TCP_NLA_SNDBUF_LIMITED),
	S(TCP_NLA_DATA_SEGS_OUT),
	S(TCP_NLA_TOTAL_RETRANS),
	S(TCP_NLA_PACING_RATE),
	S(TCP_NLA_DELIVERY_RATE),
	S(TCP_NLA_SND_CWND),
	S(TCP_NLA_REORDERING),
	S(TCP_NLA_MIN_RTT),
	S(TCP_NLA_RECUR_RETRANS),
	S(TCP_NLA_DELIVERY_RATE_APP_LMT),
	S(TCP_NLA_SNDQ_SIZE),
	S(TCP_NLA_CA_STATE),
	S(TCP_NLA_SND_SSTHRESH),
	S(TCP_NLA_DELIVERED),
	S(TCP_NLA_DELIVERED_CE),
	S(TCP_NLA_BYTES_SENT),
	S(TCP_NLA_BYTES_RETRANS),
	S(TCP_NLA_DSACK_DUPS),
	S(TCP_NLA_REORD_SEEN),
	S(TCP_NLA_SRTT),
};

const size_t tdr_tcp_uapi_syms_len =
	sizeof(tdr_tcp_uapi_syms) / sizeof(tdr_tcp_uapi_syms[0]);
