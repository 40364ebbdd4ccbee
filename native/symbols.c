/*
 * Constant tables, with values taken from the system headers at build time:
 *
 *   SYMBOLS    every symbolic name a packetdrill script may use on Linux
 *              (the same set packetdrill knows), name -> value
 *   CONSTANTS  further constants the harness itself needs
 *   SYS        system call numbers of this architecture
 *   ERRNO      every errno name -> number
 *
 * and strerror(). Where an older header lacks a newer constant, the Linux
 * UAPI value is used (uapi_fallback.h).
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <linux/version.h>

#include "uapi_fallback.h"

#define S(name) { #name, (int64_t)(name) }
#define V(str, value) { str, (int64_t)(value) }

static const struct tdr_sym packetdrill_syms[] = {
	/* Portable names */
	S(AF_INET),
	S(AF_INET6),
	S(AF_PACKET),
	S(PF_INET),
	S(PF_INET6),
	S(SOCK_RAW),
	S(SOCK_STREAM),
	S(SOCK_DGRAM),
	S(SOCK_NONBLOCK),
	S(IPPROTO_RAW),
	S(IPPROTO_IP),
	S(IPPROTO_IPV6),
	S(IPPROTO_ICMP),
	S(IPPROTO_ICMPV6),
	S(IPPROTO_TCP),
	S(IPPROTO_UDP),
	S(SHUT_RD),
	S(SHUT_WR),
	S(SHUT_RDWR),
	S(SOL_SOCKET),
	{ "NULL", 0 },

	/* Socket option levels */
	S(SOL_IP),
	S(SOL_IPV6),
	S(SOL_TCP),
	S(SOL_UDP),

	/* SOL_SOCKET options */
	S(SO_ACCEPTCONN),
	S(SO_ATTACH_FILTER),
	S(SO_BINDTODEVICE),
	S(SO_BROADCAST),
	S(SO_BSDCOMPAT),
	S(SO_DEBUG),
	S(SO_DETACH_FILTER),
	S(SO_DONTROUTE),
	S(SO_ERROR),
	S(SO_KEEPALIVE),
	S(SO_LINGER),
	S(SO_MARK),
	S(SO_NO_CHECK),
	S(SO_OOBINLINE),
	S(SO_PASSCRED),
	S(SO_PEERCRED),
	S(SO_PEERNAME),
	S(SO_PEERSEC),
	S(SO_PRIORITY),
	S(SO_RCVBUF),
	S(SO_RCVLOWAT),
	S(SO_RCVTIMEO),
	S(SO_REUSEADDR),
	S(SO_REUSEPORT),
	S(SO_SECURITY_AUTHENTICATION),
	S(SO_SECURITY_ENCRYPTION_NETWORK),
	S(SO_SECURITY_ENCRYPTION_TRANSPORT),
	S(SO_SNDBUF),
	S(SO_SNDLOWAT),
	S(SO_SNDTIMEO),
	S(SO_TIMESTAMP),
	S(SO_TIMESTAMPING),
	S(SO_TYPE),
	S(SO_MAX_PACING_RATE),
	S(SO_ZEROCOPY),

	/* Socket error queue */
	S(SO_EE_ORIGIN_TIMESTAMPING),
	S(SO_EE_ORIGIN_ZEROCOPY),
	S(SO_EE_CODE_ZEROCOPY_COPIED),

	/* Time stamping (linux/net_tstamp.h, linux/errqueue.h) */
	S(SOF_TIMESTAMPING_TX_HARDWARE),
	S(SOF_TIMESTAMPING_TX_SOFTWARE),
	S(SOF_TIMESTAMPING_RX_HARDWARE),
	S(SOF_TIMESTAMPING_RX_SOFTWARE),
	S(SOF_TIMESTAMPING_SOFTWARE),
	S(SOF_TIMESTAMPING_SYS_HARDWARE),
	S(SOF_TIMESTAMPING_RAW_HARDWARE),
	S(SOF_TIMESTAMPING_OPT_ID),
	S(SOF_TIMESTAMPING_TX_SCHED),
	S(SOF_TIMESTAMPING_TX_ACK),
	S(SOF_TIMESTAMPING_OPT_CMSG),
	S(SOF_TIMESTAMPING_OPT_TSONLY),
	S(SOF_TIMESTAMPING_OPT_STATS),
	S(SOF_TIMESTAMPING_OPT_ID_TCP),
	S(SCM_TIMESTAMPING),
	S(SCM_TSTAMP_SND),
	S(SCM_TSTAMP_SCHED),
	S(SCM_TSTAMP_ACK),
	S(SCM_TIMESTAMPING_OPT_STATS),
	/* TCP_NLA_* come from <linux/tcp.h> (symbols_tcp.c) */

	/* TCP congestion-avoidance states and limits */
	V("TCP_CA_OPEN", TCP_CA_Open),
	V("TCP_CA_DISORDER", TCP_CA_Disorder),
	V("TCP_CA_CWR", TCP_CA_CWR),
	V("TCP_CA_RECOVERY", TCP_CA_Recovery),
	V("TCP_CA_LOSS", TCP_CA_Loss),
	S(TCP_INFINITE_SSTHRESH),

	/* IP and IPv6 options */
	S(IP_TOS),
	S(IP_MTU_DISCOVER),
	S(IPV6_MTU_DISCOVER),
	S(IP_PMTUDISC_WANT),
	S(IP_PMTUDISC_DONT),
	S(IP_PMTUDISC_DO),
	S(IP_PMTUDISC_PROBE),
	S(IP_RECVERR),
	S(IPV6_RECVERR),
	S(IP_FREEBIND),
	S(IP_TTL),
	S(IP_MTU),
	S(IPV6_MTU),
	S(IPV6_TCLASS),
	S(IPV6_HOPLIMIT),

	/* TCP options */
	S(TCP_NODELAY),
	S(TCP_MAXSEG),
	S(TCP_CORK),
	S(TCP_KEEPIDLE),
	S(TCP_KEEPINTVL),
	S(TCP_KEEPCNT),
	S(TCP_SYNCNT),
	S(TCP_LINGER2),
	S(TCP_DEFER_ACCEPT),
	S(TCP_INFO),
	S(TCP_QUICKACK),
	S(TCP_CONGESTION),
	S(TCP_MD5SIG),
	S(TCP_COOKIE_TRANSACTIONS),
	S(TCP_THIN_LINEAR_TIMEOUTS),
	S(TCP_THIN_DUPACK),
	S(TCP_USER_TIMEOUT),
	S(TCP_FASTOPEN),
	S(TCP_FASTOPEN_CONNECT),
	S(TCP_FASTOPEN_KEY),
	S(TCP_FASTOPEN_NO_COOKIE),
	S(TCP_TIMESTAMP),
	S(TCP_NOTSENT_LOWAT),
	S(TCP_INQ),
	S(TCP_CM_INQ),
	S(TCP_TX_DELAY),

	/* open() flags */
	S(O_RDONLY),
	S(O_WRONLY),
	S(O_RDWR),
	S(O_ACCMODE),
	S(O_CREAT),
	S(O_EXCL),
	S(O_NOCTTY),
	S(O_TRUNC),
	S(O_APPEND),
	S(O_NONBLOCK),

	/* fcntl() commands and flags */
	S(F_DUPFD),
	S(F_GETFD),
	S(F_SETFD),
	S(F_GETFL),
	S(F_SETFL),
	S(F_GETLK),
	S(F_SETLK),
	S(F_SETLKW),
	S(F_GETOWN),
	S(F_SETOWN),
	S(F_SETSIG),
	S(F_GETSIG),
	S(F_SETLK64),
	S(F_SETLKW64),
	S(F_GETLK64),
	S(F_SETLEASE),
	S(F_GETLEASE),
	S(F_NOTIFY),
	S(F_DUPFD_CLOEXEC),
	S(FD_CLOEXEC),
	S(LOCK_SH),
	S(LOCK_EX),
	S(LOCK_NB),
	S(LOCK_UN),
	S(F_RDLCK),
	S(F_WRLCK),
	S(F_UNLCK),
	S(F_EXLCK),
	S(F_SHLCK),
	S(SEEK_SET),
	S(SEEK_CUR),
	S(SEEK_END),

	/* send/recv flags */
	S(MSG_OOB),
	S(MSG_DONTROUTE),
	S(MSG_PEEK),
	S(MSG_CTRUNC),
	S(MSG_PROXY),
	S(MSG_EOR),
	S(MSG_WAITALL),
	S(MSG_TRUNC),
	S(MSG_ERRQUEUE),
	S(MSG_DONTWAIT),
	S(MSG_CONFIRM),
	S(MSG_FIN),
	S(MSG_SYN),
	S(MSG_RST),
	S(MSG_NOSIGNAL),
	S(MSG_MORE),
	S(MSG_CMSG_CLOEXEC),
	S(MSG_FASTOPEN),
	S(MSG_ZEROCOPY),

	/* ioctl() requests */
	S(SIOCINQ),
	S(FIONREAD),

	/* poll() events */
	S(POLLIN),
	S(POLLPRI),
	S(POLLOUT),
	S(POLLRDNORM),
	S(POLLRDBAND),
	S(POLLWRNORM),
	S(POLLWRBAND),
	S(POLLMSG),
	S(POLLREMOVE),
	S(POLLRDHUP),
	S(POLLERR),
	S(POLLHUP),
	S(POLLNVAL),

	/* errno values (usable as plain integers in scripts) */
	S(EPERM),
	S(ENOENT),
	S(ESRCH),
	S(EINTR),
	S(EIO),
	S(ENXIO),
	S(E2BIG),
	S(ENOEXEC),
	S(EBADF),
	S(ECHILD),
	S(EAGAIN),
	S(ENOMEM),
	S(EACCES),
	S(EFAULT),
	S(ENOTBLK),
	S(EBUSY),
	S(EEXIST),
	S(EXDEV),
	S(ENODEV),
	S(ENOTDIR),
	S(EISDIR),
	S(EINVAL),
	S(ENFILE),
	S(EMFILE),
	S(ENOTTY),
	S(ETXTBSY),
	S(EFBIG),
	S(ENOSPC),
	S(ESPIPE),
	S(EROFS),
	S(EMLINK),
	S(EPIPE),
	S(EDOM),
	S(ERANGE),
	S(EDEADLK),
	S(ENAMETOOLONG),
	S(ENOLCK),
	S(ENOSYS),
	S(ENOTEMPTY),
	S(ELOOP),
	S(EWOULDBLOCK),
	S(ENOMSG),
	S(EIDRM),
	S(ECHRNG),
	S(EL2NSYNC),
	S(EL3HLT),
	S(EL3RST),
	S(ELNRNG),
	S(EUNATCH),
	S(ENOCSI),
	S(EL2HLT),
	S(EBADE),
	S(EBADR),
	S(EXFULL),
	S(ENOANO),
	S(EBADRQC),
	S(EBADSLT),
	S(EDEADLOCK),
	S(EBFONT),
	S(ENOSTR),
	S(ENODATA),
	S(ETIME),
	S(ENOSR),
	S(ENONET),
	S(ENOPKG),
	S(EREMOTE),
	S(ENOLINK),
	S(EADV),
	S(ESRMNT),
	S(ECOMM),
	S(EPROTO),
	S(EMULTIHOP),
	S(EDOTDOT),
	S(EBADMSG),
	S(EOVERFLOW),
	S(ENOTUNIQ),
	S(EBADFD),
	S(EREMCHG),
	S(ELIBACC),
	S(ELIBBAD),
	S(ELIBSCN),
	S(ELIBMAX),
	S(ELIBEXEC),
	S(EILSEQ),
	S(ERESTART),
	S(ESTRPIPE),
	S(EUSERS),
	S(ENOTSOCK),
	S(EDESTADDRREQ),
	S(EMSGSIZE),
	S(EPROTOTYPE),
	S(ENOPROTOOPT),
	S(EPROTONOSUPPORT),
	S(ESOCKTNOSUPPORT),
	S(EOPNOTSUPP),
	S(EPFNOSUPPORT),
	S(EAFNOSUPPORT),
	S(EADDRINUSE),
	S(EADDRNOTAVAIL),
	S(ENETDOWN),
	S(ENETUNREACH),
	S(ENETRESET),
	S(ECONNABORTED),
	S(ECONNRESET),
	S(ENOBUFS),
	S(EISCONN),
	S(ENOTCONN),
	S(ESHUTDOWN),
	S(ETOOMANYREFS),
	S(ETIMEDOUT),
	S(ECONNREFUSED),
	S(EHOSTDOWN),
	S(EHOSTUNREACH),
	S(EALREADY),
	S(EINPROGRESS),
	S(ESTALE),
	S(EUCLEAN),
	S(ENOTNAM),
	S(ENAVAIL),
	S(EISNAM),
	S(EREMOTEIO),
	S(EDQUOT),
	S(ENOMEDIUM),
	S(EMEDIUMTYPE),
	S(ECANCELED),
	S(ENOKEY),
	S(EKEYEXPIRED),
	S(EKEYREVOKED),
	S(EKEYREJECTED),
	S(EOWNERDEAD),
	S(ENOTRECOVERABLE),
	S(ERFKILL),

	/* Capability sets and flags (libcap) and capability numbers */
	S(CAP_EFFECTIVE),
	S(CAP_PERMITTED),
	S(CAP_INHERITABLE),
	S(CAP_SET),
	S(CAP_CLEAR),
	S(CAP_CHOWN),
	S(CAP_DAC_OVERRIDE),
	S(CAP_DAC_READ_SEARCH),
	S(CAP_FOWNER),
	S(CAP_FSETID),
	S(CAP_KILL),
	S(CAP_SETGID),
	S(CAP_SETUID),
	S(CAP_SETPCAP),
	S(CAP_LINUX_IMMUTABLE),
	S(CAP_NET_BIND_SERVICE),
	S(CAP_NET_BROADCAST),
	S(CAP_NET_ADMIN),
	S(CAP_NET_RAW),
	S(CAP_IPC_LOCK),
	S(CAP_IPC_OWNER),
	S(CAP_SYS_MODULE),
	S(CAP_SYS_RAWIO),
	S(CAP_SYS_CHROOT),
	S(CAP_SYS_PTRACE),
	S(CAP_SYS_PACCT),
	S(CAP_SYS_ADMIN),
	S(CAP_SYS_BOOT),
	S(CAP_SYS_NICE),
	S(CAP_SYS_RESOURCE),
	S(CAP_SYS_TIME),
	S(CAP_SYS_TTY_CONFIG),
	S(CAP_MKNOD),
	S(CAP_LEASE),
	S(CAP_AUDIT_WRITE),
	S(CAP_AUDIT_CONTROL),
	S(CAP_SETFCAP),
	S(CAP_MAC_OVERRIDE),
	S(CAP_MAC_ADMIN),
	S(CAP_SYSLOG),
	S(CAP_WAKE_ALARM),
	S(CAP_BLOCK_SUSPEND),

	/* epoll */
	S(EPOLLIN),
	S(EPOLLPRI),
	S(EPOLLOUT),
	S(EPOLLRDNORM),
	S(EPOLLRDBAND),
	S(EPOLLWRNORM),
	S(EPOLLWRBAND),
	S(EPOLLMSG),
	S(EPOLLERR),
	S(EPOLLHUP),
	S(EPOLLRDHUP),
	S(EPOLLONESHOT),
	S(EPOLLET),
	S(EPOLLEXCLUSIVE),
	S(EPOLL_CTL_ADD),
	S(EPOLL_CTL_MOD),
	S(EPOLL_CTL_DEL),

	/* splice() */
	S(SPLICE_F_MOVE),
	S(SPLICE_F_NONBLOCK),
	S(SPLICE_F_MORE),
	S(SPLICE_F_GIFT),

	/* Address families */
	S(AF_UNSPEC),
};

static const struct tdr_sym extra_syms[] = {

	/* Address families and socket types */
#ifdef AF_UNIX
	S(AF_UNIX),
#endif
#ifdef AF_LOCAL
	S(AF_LOCAL),
#endif
#ifdef AF_NETLINK
	S(AF_NETLINK),
#endif
#ifdef PF_UNIX
	S(PF_UNIX),
#endif
#ifdef PF_UNSPEC
	S(PF_UNSPEC),
#endif
#ifdef PF_PACKET
	S(PF_PACKET),
#endif
#ifdef SOCK_SEQPACKET
	S(SOCK_SEQPACKET),
#endif
#ifdef SOCK_CLOEXEC
	S(SOCK_CLOEXEC),
#endif

	/* Protocols */
#ifdef IPPROTO_SCTP
	S(IPPROTO_SCTP),
#endif
#ifdef IPPROTO_UDPLITE
	S(IPPROTO_UDPLITE),
#endif
#ifdef IPPROTO_MPTCP
	S(IPPROTO_MPTCP),
#endif
#ifdef IPPROTO_GRE
	S(IPPROTO_GRE),
#endif
#ifdef IPPROTO_ESP
	S(IPPROTO_ESP),
#endif

	/* More SOL_SOCKET options and control messages */
#ifdef SO_TIMESTAMPNS
	S(SO_TIMESTAMPNS),
#endif
#ifdef SO_BUSY_POLL
	S(SO_BUSY_POLL),
#endif
#ifdef SO_INCOMING_CPU
	S(SO_INCOMING_CPU),
#endif
#ifdef SO_TXTIME
	S(SO_TXTIME),
#endif
#ifdef SO_PROTOCOL
	S(SO_PROTOCOL),
#endif
#ifdef SO_DOMAIN
	S(SO_DOMAIN),
#endif
#ifdef SO_RCVBUFFORCE
	S(SO_RCVBUFFORCE),
#endif
#ifdef SO_SNDBUFFORCE
	S(SO_SNDBUFFORCE),
#endif
#ifdef SO_PEEK_OFF
	S(SO_PEEK_OFF),
#endif
#ifdef SO_RXQ_OVFL
	S(SO_RXQ_OVFL),
#endif
#ifdef SO_WIFI_STATUS
	S(SO_WIFI_STATUS),
#endif
#ifdef SO_NOFCS
	S(SO_NOFCS),
#endif
#ifdef SO_LOCK_FILTER
	S(SO_LOCK_FILTER),
#endif
#ifdef SO_SELECT_ERR_QUEUE
	S(SO_SELECT_ERR_QUEUE),
#endif
#ifdef SO_INCOMING_NAPI_ID
	S(SO_INCOMING_NAPI_ID),
#endif
#ifdef SO_COOKIE
	S(SO_COOKIE),
#endif
#ifdef SO_PEERGROUPS
	S(SO_PEERGROUPS),
#endif
#ifdef SO_BINDTOIFINDEX
	S(SO_BINDTOIFINDEX),
#endif
#ifdef SO_PREFER_BUSY_POLL
	S(SO_PREFER_BUSY_POLL),
#endif
#ifdef SO_BUSY_POLL_BUDGET
	S(SO_BUSY_POLL_BUDGET),
#endif
#ifdef SO_NETNS_COOKIE
	S(SO_NETNS_COOKIE),
#endif
#ifdef SO_BUF_LOCK
	S(SO_BUF_LOCK),
#endif
#ifdef SO_RESERVE_MEM
	S(SO_RESERVE_MEM),
#endif
#ifdef SO_TXREHASH
	S(SO_TXREHASH),
#endif
#ifdef SO_RCVMARK
	S(SO_RCVMARK),
#endif
#ifdef SCM_RIGHTS
	S(SCM_RIGHTS),
#endif
#ifdef SCM_CREDENTIALS
	S(SCM_CREDENTIALS),
#endif
#ifdef SCM_TIMESTAMP
	S(SCM_TIMESTAMP),
#endif
#ifdef SCM_TIMESTAMPNS
	S(SCM_TIMESTAMPNS),
#endif
#ifdef SCM_TXTIME
	S(SCM_TXTIME),
#endif
#ifdef SO_EE_ORIGIN_NONE
	S(SO_EE_ORIGIN_NONE),
#endif
#ifdef SO_EE_ORIGIN_LOCAL
	S(SO_EE_ORIGIN_LOCAL),
#endif
#ifdef SO_EE_ORIGIN_ICMP
	S(SO_EE_ORIGIN_ICMP),
#endif
#ifdef SO_EE_ORIGIN_ICMP6
	S(SO_EE_ORIGIN_ICMP6),
#endif
#ifdef SO_EE_ORIGIN_TXSTATUS
	S(SO_EE_ORIGIN_TXSTATUS),
#endif

	/* More TCP options */
#ifdef TCP_WINDOW_CLAMP
	S(TCP_WINDOW_CLAMP),
#endif
#ifdef TCP_REPAIR
	S(TCP_REPAIR),
#endif
#ifdef TCP_REPAIR_QUEUE
	S(TCP_REPAIR_QUEUE),
#endif
#ifdef TCP_QUEUE_SEQ
	S(TCP_QUEUE_SEQ),
#endif
#ifdef TCP_REPAIR_OPTIONS
	S(TCP_REPAIR_OPTIONS),
#endif
#ifdef TCP_REPAIR_WINDOW
	S(TCP_REPAIR_WINDOW),
#endif
#ifdef TCP_SAVE_SYN
	S(TCP_SAVE_SYN),
#endif
#ifdef TCP_SAVED_SYN
	S(TCP_SAVED_SYN),
#endif
#ifdef TCP_ULP
	S(TCP_ULP),
#endif
#ifdef TCP_MD5SIG_EXT
	S(TCP_MD5SIG_EXT),
#endif
#ifdef TCP_ZEROCOPY_RECEIVE
	S(TCP_ZEROCOPY_RECEIVE),
#endif
#ifdef TCP_CC_INFO
	S(TCP_CC_INFO),
#endif

	/* More IP and IPv6 options */
#ifdef IP_OPTIONS
	S(IP_OPTIONS),
#endif
#ifdef IP_HDRINCL
	S(IP_HDRINCL),
#endif
#ifdef IP_PKTINFO
	S(IP_PKTINFO),
#endif
#ifdef IP_RECVTOS
	S(IP_RECVTOS),
#endif
#ifdef IP_RECVTTL
	S(IP_RECVTTL),
#endif
#ifdef IP_RECVOPTS
	S(IP_RECVOPTS),
#endif
#ifdef IP_RETOPTS
	S(IP_RETOPTS),
#endif
#ifdef IP_TRANSPARENT
	S(IP_TRANSPARENT),
#endif
#ifdef IP_BIND_ADDRESS_NO_PORT
	S(IP_BIND_ADDRESS_NO_PORT),
#endif
#ifdef IP_NODEFRAG
	S(IP_NODEFRAG),
#endif
#ifdef IP_CHECKSUM
	S(IP_CHECKSUM),
#endif
#ifdef IP_MINTTL
	S(IP_MINTTL),
#endif
#ifdef IP_PMTUDISC_INTERFACE
	S(IP_PMTUDISC_INTERFACE),
#endif
#ifdef IP_PMTUDISC_OMIT
	S(IP_PMTUDISC_OMIT),
#endif
#ifdef IP_RECVFRAGSIZE
	S(IP_RECVFRAGSIZE),
#endif
#ifdef IP_LOCAL_PORT_RANGE
	S(IP_LOCAL_PORT_RANGE),
#endif
#ifdef IPV6_V6ONLY
	S(IPV6_V6ONLY),
#endif
#ifdef IPV6_PKTINFO
	S(IPV6_PKTINFO),
#endif
#ifdef IPV6_RECVPKTINFO
	S(IPV6_RECVPKTINFO),
#endif
#ifdef IPV6_RECVTCLASS
	S(IPV6_RECVTCLASS),
#endif
#ifdef IPV6_UNICAST_HOPS
	S(IPV6_UNICAST_HOPS),
#endif
#ifdef IPV6_DONTFRAG
	S(IPV6_DONTFRAG),
#endif
#ifdef IPV6_RECVHOPLIMIT
	S(IPV6_RECVHOPLIMIT),
#endif
#ifdef IPV6_FLOWINFO
	S(IPV6_FLOWINFO),
#endif
#ifdef IPV6_FLOWLABEL_MGR
	S(IPV6_FLOWLABEL_MGR),
#endif
#ifdef IPV6_FLOWINFO_SEND
	S(IPV6_FLOWINFO_SEND),
#endif
#ifdef IPV6_TRANSPARENT
	S(IPV6_TRANSPARENT),
#endif
#ifdef IPV6_FREEBIND
	S(IPV6_FREEBIND),
#endif
#ifdef IPV6_PMTUDISC_DONT
	S(IPV6_PMTUDISC_DONT),
#endif
#ifdef IPV6_PMTUDISC_WANT
	S(IPV6_PMTUDISC_WANT),
#endif
#ifdef IPV6_PMTUDISC_DO
	S(IPV6_PMTUDISC_DO),
#endif
#ifdef IPV6_PMTUDISC_PROBE
	S(IPV6_PMTUDISC_PROBE),
#endif
#ifdef IPV6_PMTUDISC_INTERFACE
	S(IPV6_PMTUDISC_INTERFACE),
#endif
#ifdef IPV6_PMTUDISC_OMIT
	S(IPV6_PMTUDISC_OMIT),
#endif
#ifdef IPV6_ADDRFORM
	S(IPV6_ADDRFORM),
#endif
#ifdef IPV6_AUTOFLOWLABEL
	S(IPV6_AUTOFLOWLABEL),
#endif

	/* More open() and fcntl() names */
#ifdef O_CLOEXEC
	S(O_CLOEXEC),
#endif
#ifdef O_DIRECTORY
	S(O_DIRECTORY),
#endif
#ifdef O_NOFOLLOW
	S(O_NOFOLLOW),
#endif
#ifdef O_SYNC
	S(O_SYNC),
#endif
#ifdef O_DSYNC
	S(O_DSYNC),
#endif
#ifdef O_PATH
	S(O_PATH),
#endif
#ifdef O_TMPFILE
	S(O_TMPFILE),
#endif
#ifdef O_NOATIME
	S(O_NOATIME),
#endif
#ifdef O_ASYNC
	S(O_ASYNC),
#endif
#ifdef O_DIRECT
	S(O_DIRECT),
#endif
#ifdef O_LARGEFILE
	S(O_LARGEFILE),
#endif
#ifdef AT_FDCWD
	S(AT_FDCWD),
#endif
#ifdef AT_REMOVEDIR
	S(AT_REMOVEDIR),
#endif
#ifdef F_GETPIPE_SZ
	S(F_GETPIPE_SZ),
#endif
#ifdef F_SETPIPE_SZ
	S(F_SETPIPE_SZ),
#endif
#ifdef F_OFD_GETLK
	S(F_OFD_GETLK),
#endif
#ifdef F_OFD_SETLK
	S(F_OFD_SETLK),
#endif
#ifdef F_OFD_SETLKW
	S(F_OFD_SETLKW),
#endif
#ifdef F_ADD_SEALS
	S(F_ADD_SEALS),
#endif
#ifdef F_GET_SEALS
	S(F_GET_SEALS),
#endif

	/* More send/recv flags */
#ifdef MSG_WAITFORONE
	S(MSG_WAITFORONE),
#endif
#ifdef MSG_BATCH
	S(MSG_BATCH),
#endif
#ifdef MSG_SOCK_DEVMEM
	S(MSG_SOCK_DEVMEM),
#endif
#ifdef MSG_SPLICE_PAGES
	S(MSG_SPLICE_PAGES),
#endif

	/* More ioctl() requests */
#ifdef SIOCOUTQ
	S(SIOCOUTQ),
#endif
#ifdef SIOCOUTQNSD
	S(SIOCOUTQNSD),
#endif
#ifdef SIOCATMARK
	S(SIOCATMARK),
#endif
#ifdef SIOCGSTAMP
	S(SIOCGSTAMP),
#endif
#ifdef SIOCGSTAMPNS
	S(SIOCGSTAMPNS),
#endif
#ifdef TIOCINQ
	S(TIOCINQ),
#endif
#ifdef TIOCOUTQ
	S(TIOCOUTQ),
#endif
#ifdef FIONBIO
	S(FIONBIO),
#endif
#ifdef FIOASYNC
	S(FIOASYNC),
#endif
#ifdef FIOCLEX
	S(FIOCLEX),
#endif
#ifdef FIONCLEX
	S(FIONCLEX),
#endif
#ifdef SIOCGIFINDEX
	S(SIOCGIFINDEX),
#endif
#ifdef SIOCGIFMTU
	S(SIOCGIFMTU),
#endif
#ifdef SIOCSIFMTU
	S(SIOCSIFMTU),
#endif
#ifdef SIOCGIFFLAGS
	S(SIOCGIFFLAGS),
#endif
#ifdef SIOCSIFFLAGS
	S(SIOCSIFFLAGS),
#endif

	/* More epoll and event names */
#ifdef EPOLL_CLOEXEC
	S(EPOLL_CLOEXEC),
#endif
#ifdef EPOLLWAKEUP
	S(EPOLLWAKEUP),
#endif
#ifdef EFD_CLOEXEC
	S(EFD_CLOEXEC),
#endif
#ifdef EFD_NONBLOCK
	S(EFD_NONBLOCK),
#endif
#ifdef EFD_SEMAPHORE
	S(EFD_SEMAPHORE),
#endif

	/* Pipes */
#ifdef PIPE_BUF
	S(PIPE_BUF),
#endif
};

struct tdr_num {
	const char *name;
	int value;
};

#define N(name) { #name, SYS_##name }
static const struct tdr_num sys_nums[] = {
#ifdef SYS_read
	N(read),
#endif
#ifdef SYS_write
	N(write),
#endif
#ifdef SYS_open
	N(open),
#endif
#ifdef SYS_close
	N(close),
#endif
#ifdef SYS_stat
	N(stat),
#endif
#ifdef SYS_fstat
	N(fstat),
#endif
#ifdef SYS_lstat
	N(lstat),
#endif
#ifdef SYS_lseek
	N(lseek),
#endif
#ifdef SYS_mmap
	N(mmap),
#endif
#ifdef SYS_munmap
	N(munmap),
#endif
#ifdef SYS_poll
	N(poll),
#endif
#ifdef SYS_ppoll
	N(ppoll),
#endif
#ifdef SYS_select
	N(select),
#endif
#ifdef SYS_pselect6
	N(pselect6),
#endif
#ifdef SYS_ioctl
	N(ioctl),
#endif
#ifdef SYS_readv
	N(readv),
#endif
#ifdef SYS_writev
	N(writev),
#endif
#ifdef SYS_pread64
	N(pread64),
#endif
#ifdef SYS_pwrite64
	N(pwrite64),
#endif
#ifdef SYS_preadv
	N(preadv),
#endif
#ifdef SYS_pwritev
	N(pwritev),
#endif
#ifdef SYS_preadv2
	N(preadv2),
#endif
#ifdef SYS_pwritev2
	N(pwritev2),
#endif
#ifdef SYS_pipe
	N(pipe),
#endif
#ifdef SYS_pipe2
	N(pipe2),
#endif
#ifdef SYS_dup
	N(dup),
#endif
#ifdef SYS_dup2
	N(dup2),
#endif
#ifdef SYS_dup3
	N(dup3),
#endif
#ifdef SYS_nanosleep
	N(nanosleep),
#endif
#ifdef SYS_clock_nanosleep
	N(clock_nanosleep),
#endif
#ifdef SYS_clock_gettime
	N(clock_gettime),
#endif
#ifdef SYS_getpid
	N(getpid),
#endif
#ifdef SYS_gettid
	N(gettid),
#endif
#ifdef SYS_sched_setscheduler
	N(sched_setscheduler),
#endif
#ifdef SYS_sched_getscheduler
	N(sched_getscheduler),
#endif
#ifdef SYS_sched_setaffinity
	N(sched_setaffinity),
#endif
#ifdef SYS_getcpu
	N(getcpu),
#endif
#ifdef SYS_times
	N(times),
#endif
#ifdef SYS_getppid
	N(getppid),
#endif
#ifdef SYS_getuid
	N(getuid),
#endif
#ifdef SYS_geteuid
	N(geteuid),
#endif
#ifdef SYS_socket
	N(socket),
#endif
#ifdef SYS_connect
	N(connect),
#endif
#ifdef SYS_accept
	N(accept),
#endif
#ifdef SYS_accept4
	N(accept4),
#endif
#ifdef SYS_sendto
	N(sendto),
#endif
#ifdef SYS_recvfrom
	N(recvfrom),
#endif
#ifdef SYS_sendmsg
	N(sendmsg),
#endif
#ifdef SYS_recvmsg
	N(recvmsg),
#endif
#ifdef SYS_sendmmsg
	N(sendmmsg),
#endif
#ifdef SYS_recvmmsg
	N(recvmmsg),
#endif
#ifdef SYS_shutdown
	N(shutdown),
#endif
#ifdef SYS_bind
	N(bind),
#endif
#ifdef SYS_listen
	N(listen),
#endif
#ifdef SYS_getsockname
	N(getsockname),
#endif
#ifdef SYS_getpeername
	N(getpeername),
#endif
#ifdef SYS_socketpair
	N(socketpair),
#endif
#ifdef SYS_setsockopt
	N(setsockopt),
#endif
#ifdef SYS_getsockopt
	N(getsockopt),
#endif
#ifdef SYS_fcntl
	N(fcntl),
#endif
#ifdef SYS_flock
	N(flock),
#endif
#ifdef SYS_fsync
	N(fsync),
#endif
#ifdef SYS_ftruncate
	N(ftruncate),
#endif
#ifdef SYS_truncate
	N(truncate),
#endif
#ifdef SYS_unlink
	N(unlink),
#endif
#ifdef SYS_unlinkat
	N(unlinkat),
#endif
#ifdef SYS_mkdir
	N(mkdir),
#endif
#ifdef SYS_mkdirat
	N(mkdirat),
#endif
#ifdef SYS_rmdir
	N(rmdir),
#endif
#ifdef SYS_rename
	N(rename),
#endif
#ifdef SYS_renameat
	N(renameat),
#endif
#ifdef SYS_openat
	N(openat),
#endif
#ifdef SYS_sendfile
	N(sendfile),
#endif
#ifdef SYS_splice
	N(splice),
#endif
#ifdef SYS_tee
	N(tee),
#endif
#ifdef SYS_vmsplice
	N(vmsplice),
#endif
#ifdef SYS_copy_file_range
	N(copy_file_range),
#endif
#ifdef SYS_epoll_create
	N(epoll_create),
#endif
#ifdef SYS_epoll_create1
	N(epoll_create1),
#endif
#ifdef SYS_epoll_ctl
	N(epoll_ctl),
#endif
#ifdef SYS_epoll_wait
	N(epoll_wait),
#endif
#ifdef SYS_epoll_pwait
	N(epoll_pwait),
#endif
#ifdef SYS_epoll_pwait2
	N(epoll_pwait2),
#endif
#ifdef SYS_eventfd
	N(eventfd),
#endif
#ifdef SYS_eventfd2
	N(eventfd2),
#endif
#ifdef SYS_timerfd_create
	N(timerfd_create),
#endif
#ifdef SYS_timerfd_settime
	N(timerfd_settime),
#endif
#ifdef SYS_timerfd_gettime
	N(timerfd_gettime),
#endif
#ifdef SYS_signalfd4
	N(signalfd4),
#endif
#ifdef SYS_capget
	N(capget),
#endif
#ifdef SYS_capset
	N(capset),
#endif
#ifdef SYS_prctl
	N(prctl),
#endif
#ifdef SYS_setitimer
	N(setitimer),
#endif
#ifdef SYS_setns
	N(setns),
#endif
#ifdef SYS_unshare
	N(unshare),
#endif
#ifdef SYS_kill
	N(kill),
#endif
#ifdef SYS_tgkill
	N(tgkill),
#endif
#ifdef SYS_sched_yield
	N(sched_yield),
#endif
#ifdef SYS_getrandom
	N(getrandom),
#endif
#ifdef SYS_memfd_create
	N(memfd_create),
#endif
#ifdef SYS_close_range
	N(close_range),
#endif
#ifdef SYS_io_uring_setup
	N(io_uring_setup),
#endif
#ifdef SYS_io_uring_enter
	N(io_uring_enter),
#endif
#ifdef SYS_io_uring_register
	N(io_uring_register),
#endif
};

#define E(name) { #name, name }
/* Canonical names first: errnoName() picks the first name of a value. */
static const struct tdr_num errno_nums[] = {
#ifdef EPERM
	E(EPERM),
#endif
#ifdef ENOENT
	E(ENOENT),
#endif
#ifdef ESRCH
	E(ESRCH),
#endif
#ifdef EINTR
	E(EINTR),
#endif
#ifdef EIO
	E(EIO),
#endif
#ifdef ENXIO
	E(ENXIO),
#endif
#ifdef E2BIG
	E(E2BIG),
#endif
#ifdef ENOEXEC
	E(ENOEXEC),
#endif
#ifdef EBADF
	E(EBADF),
#endif
#ifdef ECHILD
	E(ECHILD),
#endif
#ifdef EAGAIN
	E(EAGAIN),
#endif
#ifdef ENOMEM
	E(ENOMEM),
#endif
#ifdef EACCES
	E(EACCES),
#endif
#ifdef EFAULT
	E(EFAULT),
#endif
#ifdef ENOTBLK
	E(ENOTBLK),
#endif
#ifdef EBUSY
	E(EBUSY),
#endif
#ifdef EEXIST
	E(EEXIST),
#endif
#ifdef EXDEV
	E(EXDEV),
#endif
#ifdef ENODEV
	E(ENODEV),
#endif
#ifdef ENOTDIR
	E(ENOTDIR),
#endif
#ifdef EISDIR
	E(EISDIR),
#endif
#ifdef EINVAL
	E(EINVAL),
#endif
#ifdef ENFILE
	E(ENFILE),
#endif
#ifdef EMFILE
	E(EMFILE),
#endif
#ifdef ENOTTY
	E(ENOTTY),
#endif
#ifdef ETXTBSY
	E(ETXTBSY),
#endif
#ifdef EFBIG
	E(EFBIG),
#endif
#ifdef ENOSPC
	E(ENOSPC),
#endif
#ifdef ESPIPE
	E(ESPIPE),
#endif
#ifdef EROFS
	E(EROFS),
#endif
#ifdef EMLINK
	E(EMLINK),
#endif
#ifdef EPIPE
	E(EPIPE),
#endif
#ifdef EDOM
	E(EDOM),
#endif
#ifdef ERANGE
	E(ERANGE),
#endif
#ifdef EDEADLK
	E(EDEADLK),
#endif
#ifdef ENAMETOOLONG
	E(ENAMETOOLONG),
#endif
#ifdef ENOLCK
	E(ENOLCK),
#endif
#ifdef ENOSYS
	E(ENOSYS),
#endif
#ifdef ENOTEMPTY
	E(ENOTEMPTY),
#endif
#ifdef ELOOP
	E(ELOOP),
#endif
#ifdef ENOMSG
	E(ENOMSG),
#endif
#ifdef EIDRM
	E(EIDRM),
#endif
#ifdef ECHRNG
	E(ECHRNG),
#endif
#ifdef EL2NSYNC
	E(EL2NSYNC),
#endif
#ifdef EL3HLT
	E(EL3HLT),
#endif
#ifdef EL3RST
	E(EL3RST),
#endif
#ifdef ELNRNG
	E(ELNRNG),
#endif
#ifdef EUNATCH
	E(EUNATCH),
#endif
#ifdef ENOCSI
	E(ENOCSI),
#endif
#ifdef EL2HLT
	E(EL2HLT),
#endif
#ifdef EBADE
	E(EBADE),
#endif
#ifdef EBADR
	E(EBADR),
#endif
#ifdef EXFULL
	E(EXFULL),
#endif
#ifdef ENOANO
	E(ENOANO),
#endif
#ifdef EBADRQC
	E(EBADRQC),
#endif
#ifdef EBADSLT
	E(EBADSLT),
#endif
#ifdef EBFONT
	E(EBFONT),
#endif
#ifdef ENOSTR
	E(ENOSTR),
#endif
#ifdef ENODATA
	E(ENODATA),
#endif
#ifdef ETIME
	E(ETIME),
#endif
#ifdef ENOSR
	E(ENOSR),
#endif
#ifdef ENONET
	E(ENONET),
#endif
#ifdef ENOPKG
	E(ENOPKG),
#endif
#ifdef EREMOTE
	E(EREMOTE),
#endif
#ifdef ENOLINK
	E(ENOLINK),
#endif
#ifdef EADV
	E(EADV),
#endif
#ifdef ESRMNT
	E(ESRMNT),
#endif
#ifdef ECOMM
	E(ECOMM),
#endif
#ifdef EPROTO
	E(EPROTO),
#endif
#ifdef EMULTIHOP
	E(EMULTIHOP),
#endif
#ifdef EDOTDOT
	E(EDOTDOT),
#endif
#ifdef EBADMSG
	E(EBADMSG),
#endif
#ifdef EOVERFLOW
	E(EOVERFLOW),
#endif
#ifdef ENOTUNIQ
	E(ENOTUNIQ),
#endif
#ifdef EBADFD
	E(EBADFD),
#endif
#ifdef EREMCHG
	E(EREMCHG),
#endif
#ifdef ELIBACC
	E(ELIBACC),
#endif
#ifdef ELIBBAD
	E(ELIBBAD),
#endif
#ifdef ELIBSCN
	E(ELIBSCN),
#endif
#ifdef ELIBMAX
	E(ELIBMAX),
#endif
#ifdef ELIBEXEC
	E(ELIBEXEC),
#endif
#ifdef EILSEQ
	E(EILSEQ),
#endif
#ifdef ERESTART
	E(ERESTART),
#endif
#ifdef ESTRPIPE
	E(ESTRPIPE),
#endif
#ifdef EUSERS
	E(EUSERS),
#endif
#ifdef ENOTSOCK
	E(ENOTSOCK),
#endif
#ifdef EDESTADDRREQ
	E(EDESTADDRREQ),
#endif
#ifdef EMSGSIZE
	E(EMSGSIZE),
#endif
#ifdef EPROTOTYPE
	E(EPROTOTYPE),
#endif
#ifdef ENOPROTOOPT
	E(ENOPROTOOPT),
#endif
#ifdef EPROTONOSUPPORT
	E(EPROTONOSUPPORT),
#endif
#ifdef ESOCKTNOSUPPORT
	E(ESOCKTNOSUPPORT),
#endif
#ifdef EOPNOTSUPP
	E(EOPNOTSUPP),
#endif
#ifdef EPFNOSUPPORT
	E(EPFNOSUPPORT),
#endif
#ifdef EAFNOSUPPORT
	E(EAFNOSUPPORT),
#endif
#ifdef EADDRINUSE
	E(EADDRINUSE),
#endif
#ifdef EADDRNOTAVAIL
	E(EADDRNOTAVAIL),
#endif
#ifdef ENETDOWN
	E(ENETDOWN),
#endif
#ifdef ENETUNREACH
	E(ENETUNREACH),
#endif
#ifdef ENETRESET
	E(ENETRESET),
#endif
#ifdef ECONNABORTED
	E(ECONNABORTED),
#endif
#ifdef ECONNRESET
	E(ECONNRESET),
#endif
#ifdef ENOBUFS
	E(ENOBUFS),
#endif
#ifdef EISCONN
	E(EISCONN),
#endif
#ifdef ENOTCONN
	E(ENOTCONN),
#endif
#ifdef ESHUTDOWN
	E(ESHUTDOWN),
#endif
#ifdef ETOOMANYREFS
	E(ETOOMANYREFS),
#endif
#ifdef ETIMEDOUT
	E(ETIMEDOUT),
#endif
#ifdef ECONNREFUSED
	E(ECONNREFUSED),
#endif
#ifdef EHOSTDOWN
	E(EHOSTDOWN),
#endif
#ifdef EHOSTUNREACH
	E(EHOSTUNREACH),
#endif
#ifdef EALREADY
	E(EALREADY),
#endif
#ifdef EINPROGRESS
	E(EINPROGRESS),
#endif
#ifdef ESTALE
	E(ESTALE),
#endif
#ifdef EUCLEAN
	E(EUCLEAN),
#endif
#ifdef ENOTNAM
	E(ENOTNAM),
#endif
#ifdef ENAVAIL
	E(ENAVAIL),
#endif
#ifdef EISNAM
	E(EISNAM),
#endif
#ifdef EREMOTEIO
	E(EREMOTEIO),
#endif
#ifdef EDQUOT
	E(EDQUOT),
#endif
#ifdef ENOMEDIUM
	E(ENOMEDIUM),
#endif
#ifdef EMEDIUMTYPE
	E(EMEDIUMTYPE),
#endif
#ifdef ECANCELED
	E(ECANCELED),
#endif
#ifdef ENOKEY
	E(ENOKEY),
#endif
#ifdef EKEYEXPIRED
	E(EKEYEXPIRED),
#endif
#ifdef EKEYREVOKED
	E(EKEYREVOKED),
#endif
#ifdef EKEYREJECTED
	E(EKEYREJECTED),
#endif
#ifdef EOWNERDEAD
	E(EOWNERDEAD),
#endif
#ifdef ENOTRECOVERABLE
	E(ENOTRECOVERABLE),
#endif
#ifdef ERFKILL
	E(ERFKILL),
#endif
#ifdef EHWPOISON
	E(EHWPOISON),
#endif
#ifdef EWOULDBLOCK
	E(EWOULDBLOCK),
#endif
#ifdef EDEADLOCK
	E(EDEADLOCK),
#endif
#ifdef ENOTSUP
	E(ENOTSUP),
#endif
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool add_syms(napi_env env, napi_value obj, const struct tdr_sym *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		napi_value v;
		if (napi_create_bigint_int64(env, t[i].value, &v) != napi_ok ||
		    napi_set_named_property(env, obj, t[i].name, v) != napi_ok)
			return false;
	}
	return true;
}

static bool add_nums(napi_env env, napi_value obj, const struct tdr_num *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		napi_value v;
		if (napi_create_int32(env, t[i].value, &v) != napi_ok ||
		    napi_set_named_property(env, obj, t[i].name, v) != napi_ok)
			return false;
	}
	return true;
}

/* strerror(errno) -> message */
static napi_value js_strerror(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	int32_t err;
	if (argc < 1 || napi_get_value_int32(env, argv[0], &err) != napi_ok)
		return tdr_throw_type(env, "strerror(errno): errno must be a number");
	char buf[256];
	const char *msg = strerror_r(err, buf, sizeof(buf));
	napi_value out;
	NAPI_OK(env, napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &out));
	return out;
}

bool tdr_init_symbols(napi_env env, napi_value exports)
{
	napi_value syms, consts, sys, errs;
	return napi_create_object(env, &syms) == napi_ok &&
	       add_syms(env, syms, packetdrill_syms, COUNT(packetdrill_syms)) &&
	       add_syms(env, syms, tdr_tcp_uapi_syms, tdr_tcp_uapi_syms_len) &&
	       napi_set_named_property(env, exports, "SYMBOLS", syms) == napi_ok &&
	       napi_create_object(env, &consts) == napi_ok &&
	       add_syms(env, consts, extra_syms, COUNT(extra_syms)) &&
	       napi_set_named_property(env, exports, "CONSTANTS", consts) == napi_ok &&
	       napi_create_object(env, &sys) == napi_ok &&
	       add_nums(env, sys, sys_nums, COUNT(sys_nums)) &&
	       napi_set_named_property(env, exports, "SYS", sys) == napi_ok &&
	       napi_create_object(env, &errs) == napi_ok &&
	       add_nums(env, errs, errno_nums, COUNT(errno_nums)) &&
	       napi_set_named_property(env, exports, "ERRNO", errs) == napi_ok &&
	       tdr_export_fn(env, exports, "strerror", js_strerror);
}
