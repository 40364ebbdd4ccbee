/*
 * AF_PACKET socket on one interface: every frame the interface sends or
 * receives, read by the reader thread of tun_reader.c (packetReaderStart),
 * and frames written to the interface with tunWrite / tunWriteAt (a bound
 * packet socket sends on its interface with a plain write()).
 *
 * The socket belongs to the network namespace of the thread that opens it,
 * whichever namespace it is used from later.
 */
#include "common.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_VNET_HDR
#define PACKET_VNET_HDR 15
#endif

/* The interface named by `arg` (1 to 15 bytes, into name) and a new
 * AF_PACKET socket for every protocol (O_NONBLOCK, O_CLOEXEC); -1 with an
 * exception pending when either cannot be had. `fn` names the caller. */
static int packet_socket_for(napi_env env, napi_value arg, const char *fn,
			     char name[IFNAMSIZ + 1], size_t *len, unsigned int *ifindex)
{
	char msg[96];
	if (napi_get_value_string_utf8(env, arg, name, IFNAMSIZ + 1, len) != napi_ok ||
	    *len == 0 || *len >= IFNAMSIZ) {
		snprintf(msg, sizeof(msg), "%s: an interface name of 1 to 15 bytes", fn);
		tdr_throw_type(env, msg);
		return -1;
	}
	*ifindex = if_nametoindex(name);
	if (*ifindex == 0) {
		snprintf(msg, sizeof(msg), "%s: if_nametoindex", fn);
		tdr_throw_errno(env, msg, errno);
		return -1;
	}
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "%s: socket(AF_PACKET)", fn);
		tdr_throw_errno(env, msg, errno);
	}
	return fd;
}

/* Bind a packet socket to every protocol of one interface. */
static int bind_to_interface(int fd, unsigned int ifindex)
{
	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)ifindex;
	return bind(fd, (struct sockaddr *)&sll, sizeof(sll));
}

/* packetSocketOpen(ifname, vnetHdr) -> { fd, ifindex, mac }: a raw packet
 * socket for every protocol, bound to the interface, O_NONBLOCK and
 * O_CLOEXEC, with a large receive buffer and the kernel's time stamp on
 * every frame (SO_TIMESTAMPNS). With vnetHdr, frames carry a
 * virtio-net header in both directions (GSO and checksum offload, as on a
 * TUN opened with IFF_VNET_HDR). mac is the interface's hardware address
 * (empty for an interface without one). */
static napi_value js_packet_open(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	char name[IFNAMSIZ + 1];
	size_t len = 0;
	bool vnet = false;
	unsigned int ifindex = 0;
	if (argc < 2 || napi_get_value_bool(env, argv[1], &vnet) != napi_ok)
		return tdr_throw_type(env, "packetSocketOpen(ifname, vnetHdr): a name and a boolean");
	int fd = packet_socket_for(env, argv[0], "packetSocketOpen", name, &len, &ifindex);
	if (fd < 0)
		return NULL;
	const char *what = NULL;
	int one = 1, size = 16 << 20;
	if (vnet && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0)
		what = "packetSocketOpen: PACKET_VNET_HDR";
	/* A reader that falls behind must not lose frames: 16 MiB (forced
	 * past rmem_max as root; the plain size otherwise). */
	if (!what && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		what = "packetSocketOpen: SO_RCVBUF";
	/* Each frame with the time the kernel's tap saw it, for the reader. */
	if (!what && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		what = "packetSocketOpen: SO_TIMESTAMPNS";
	if (!what && bind_to_interface(fd, ifindex) < 0)
		what = "packetSocketOpen: bind";
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, len);
	if (!what && ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		what = "packetSocketOpen: SIOCGIFHWADDR";
	if (what) {
		int err = errno;
		close(fd);
		return tdr_throw_errno(env, what, err);
	}
	char mac[18] = "";
	if (ifr.ifr_hwaddr.sa_family == 1 /* ARPHRD_ETHER */) {
		const unsigned char *a = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 a[0], a[1], a[2], a[3], a[4], a[5]);
	}

	napi_value obj, v;
	NAPI_OK(env, napi_create_object(env, &obj));
	NAPI_OK(env, napi_create_int32(env, fd, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "fd", v));
	NAPI_OK(env, napi_create_uint32(env, ifindex, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "ifindex", v));
	NAPI_OK(env, napi_create_string_utf8(env, mac, NAPI_AUTO_LENGTH, &v));
	NAPI_OK(env, napi_set_named_property(env, obj, "mac", v));
	return obj;
}

/* packetStampSocketOpen(ifname) -> fd: an AF_PACKET socket on the interface
 * that receives, for every frame the interface sends, the first
 * TDR_STAMP_SNAP bytes and the time the kernel's packet tap saw it
 * (SO_TIMESTAMPNS: dev_queue_xmit_nit stamps each tapped frame, right
 * before the driver's transmit). A filter keeps only PACKET_OUTGOING
 * frames, so what the harness writes never queues here. The TUN reader
 * pairs each packet it reads with its frame and takes the kernel's time
 * instead of its own read time, which a busy machine delays: the time
 * packetdrill takes for sniffed packets (SIOCGSTAMP), and tcpdump's. */
static napi_value js_stamp_open(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	char name[IFNAMSIZ + 1];
	size_t len = 0;
	unsigned int ifindex = 0;
	if (argc < 1)
		return tdr_throw_type(env, "packetStampSocketOpen(ifname): an interface name");
	int fd = packet_socket_for(env, argv[0], "packetStampSocketOpen", name, &len, &ifindex);
	if (fd < 0)
		return NULL;
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (__u32)(SKF_AD_OFF + SKF_AD_PKTTYPE)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, TDR_STAMP_SNAP),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	const char *what = NULL;
	int one = 1, size = 4 << 20;
	/* The filter goes on before bind, so no frame is queued unfiltered. */
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		what = "packetStampSocketOpen: SO_ATTACH_FILTER";
	if (!what && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		what = "packetStampSocketOpen: SO_TIMESTAMPNS";
	if (!what && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		what = "packetStampSocketOpen: SO_RCVBUF";
	if (!what && bind_to_interface(fd, ifindex) < 0)
		what = "packetStampSocketOpen: bind";
	if (what) {
		int err = errno;
		close(fd);
		return tdr_throw_errno(env, what, err);
	}
	napi_value v;
	NAPI_OK(env, napi_create_int32(env, fd, &v));
	return v;
}

bool tdr_init_packet_socket(napi_env env, napi_value exports)
{
	return tdr_export_fn(env, exports, "packetSocketOpen", js_packet_open) &&
	       tdr_export_fn(env, exports, "packetStampSocketOpen", js_stamp_open);
}
