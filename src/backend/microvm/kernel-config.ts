/**
 * What a kernel needs to run tundrill in a microVM, as config options: the
 * check before boot (which required options a kernel's config lacks) and
 * the fragment a user adds to their own kernel's config.
 */
import { createHash } from 'node:crypto';

export interface Requirement {
  /** Options that satisfy it (any one, as =y or =m). */
  anyOf: string[];
  why: string;
  /** Required to boot and run at all; otherwise only some scenarios need it. */
  required: boolean;
}

export const REQUIREMENTS: Requirement[] = [
  { anyOf: ['CONFIG_TUN'], why: 'the tun device tundrill plays the peer through', required: true },
  { anyOf: ['CONFIG_NET_NS'], why: 'a network namespace per run', required: true },
  { anyOf: ['CONFIG_INET'], why: 'TCP/IPv4', required: true },
  { anyOf: ['CONFIG_IPV6'], why: 'the ipv6 and ipv4-mapped-ipv6 variants', required: false },
  { anyOf: ['CONFIG_INET_DIAG'], why: 'sock_diag socket state (ss -i)', required: true },
  { anyOf: ['CONFIG_INET_TCP_DIAG'], why: 'tcp_info through sock_diag (without it ss -i shows no tcp_info)', required: true },
  { anyOf: ['CONFIG_PACKET'], why: 'AF_PACKET observation', required: true },
  { anyOf: ['CONFIG_PACKET_DIAG'], why: 'ss for packet sockets', required: false },
  { anyOf: ['CONFIG_UNIX'], why: 'Node and the tools', required: true },
  { anyOf: ['CONFIG_VETH'], why: 'the veth device', required: false },
  { anyOf: ['CONFIG_VIRTIO_MMIO'], why: 'virtio devices on qemu microvm', required: true },
  { anyOf: ['CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES', 'CONFIG_ACPI'], why: 'finding the virtio-mmio devices (command line, or ACPI)', required: true },
  { anyOf: ['CONFIG_NET_9P'], why: "the host's root and the evidence share over 9p", required: true },
  { anyOf: ['CONFIG_NET_9P_VIRTIO'], why: '9p over virtio', required: true },
  { anyOf: ['CONFIG_9P_FS'], why: 'mounting 9p', required: true },
  { anyOf: ['CONFIG_VIRTIO_CONSOLE'], why: 'the channel runs and results travel on', required: true },
  { anyOf: ['CONFIG_BLK_DEV_INITRD'], why: 'the initramfs', required: true },
  { anyOf: ['CONFIG_DEVTMPFS'], why: '/dev in the guest', required: true },
  { anyOf: ['CONFIG_TMPFS'], why: '/tmp and /run in the guest', required: true },
  { anyOf: ['CONFIG_PROC_FS'], why: '/proc (sysctls, counters)', required: true },
  { anyOf: ['CONFIG_SERIAL_8250_CONSOLE'], why: 'the serial console', required: true },
  { anyOf: ['CONFIG_PVH'], why: 'booting the uncompressed vmlinux directly', required: false },
  { anyOf: ['CONFIG_FUTEX'], why: 'Node', required: true },
  { anyOf: ['CONFIG_EPOLL'], why: 'Node', required: true },
  { anyOf: ['CONFIG_TCP_CONG_CUBIC'], why: 'the corpus selects cubic', required: false },
  { anyOf: ['CONFIG_NET_SCHED'], why: 'qdiscs', required: false },
  { anyOf: ['CONFIG_NET_SCH_NETEM'], why: 'netem delay and loss in scenarios', required: false },
  { anyOf: ['CONFIG_NET_SCH_TBF'], why: 'rate limits in scenarios', required: false },
  { anyOf: ['CONFIG_NET_SCH_FQ'], why: 'the fq qdisc some corpus scripts set', required: false },
];

/** The modules the guest loads when they are modules (in this order; dependencies are added). */
export const GUEST_MODULES = [
  'virtio_mmio', 'virtio_console', '9pnet', '9pnet_virtio', 'netfs', 'fscache', '9p', 'tun', 'inet_diag', 'tcp_diag',
  'udp_diag', 'veth', 'af_packet_diag', 'sch_tbf', 'sch_netem', 'sch_fq', 'sch_prio', 'sch_fq_codel', 'ipv6',
];

export type KernelConfig = Map<string, string>;

export function parseConfig(text: string): KernelConfig {
  const out: KernelConfig = new Map();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

function enabled(cfg: KernelConfig, name: string): boolean {
  const v = cfg.get(name);
  return v === 'y' || v === 'm';
}

export interface ConfigCheck {
  missing: Requirement[];
  missingOptional: Requirement[];
}

export function checkConfig(cfg: KernelConfig): ConfigCheck {
  const missing: Requirement[] = [];
  const missingOptional: Requirement[] = [];
  for (const r of REQUIREMENTS) {
    if (r.anyOf.some((o) => enabled(cfg, o))) continue;
    (r.required ? missing : missingOptional).push(r);
  }
  return { missing, missingOptional };
}

export function describeMissing(list: Requirement[]): string {
  return list.map((r) => `${r.anyOf.join(' or ')} (${r.why})`).join(', ');
}

/** A short stable hash of the enabled options, to tell two configs apart in reports. */
export function configHash(cfg: KernelConfig): string {
  const lines = [...cfg.entries()].map(([k, v]) => `${k}=${v}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 12);
}

export function configHz(cfg: KernelConfig): number | null {
  const v = cfg.get('CONFIG_HZ');
  return v && /^\d+$/.test(v) ? Number(v) : null;
}

/**
 * The fragment to merge into a kernel's config (scripts/kconfig/merge_config.sh
 * or `scripts/config`): everything built in, no modules needed, microvm
 * without ACPI (virtio devices from the command line).
 */
export function configFragment(): string {
  const lines = [
    '# tundrill: a kernel that runs in a qemu microVM (-M microvm,acpi=off) and tests TCP',
    '# Merge with: scripts/kconfig/merge_config.sh .config tundrill.config (then make olddefconfig)',
    '# Boot and run',
    'CONFIG_64BIT=y', 'CONFIG_SMP=y', 'CONFIG_HYPERVISOR_GUEST=y', 'CONFIG_PVH=y', 'CONFIG_PARAVIRT=y',
    'CONFIG_HIGH_RES_TIMERS=y', 'CONFIG_BLK_DEV_INITRD=y', 'CONFIG_BINFMT_ELF=y', 'CONFIG_BINFMT_SCRIPT=y',
    'CONFIG_PROC_FS=y', 'CONFIG_PROC_SYSCTL=y', 'CONFIG_SYSFS=y', 'CONFIG_DEVTMPFS=y', 'CONFIG_DEVTMPFS_MOUNT=y',
    'CONFIG_TMPFS=y', 'CONFIG_FUTEX=y', 'CONFIG_EPOLL=y', 'CONFIG_MULTIUSER=y', 'CONFIG_IKCONFIG=y', 'CONFIG_IKCONFIG_PROC=y',
    'CONFIG_SERIAL_8250=y', 'CONFIG_SERIAL_8250_CONSOLE=y', 'CONFIG_RTC_CLASS=y',
    '# virtio on microvm, 9p shares, the run channel',
    'CONFIG_VIRTIO=y', 'CONFIG_VIRTIO_MMIO=y', 'CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y', 'CONFIG_VIRTIO_CONSOLE=y',
    'CONFIG_NET_9P=y', 'CONFIG_NET_9P_VIRTIO=y', 'CONFIG_9P_FS=y', 'CONFIG_9P_FS_POSIX_ACL=y',
    '# Networking under test',
    'CONFIG_NET=y', 'CONFIG_UNIX=y', 'CONFIG_INET=y', 'CONFIG_IPV6=y', 'CONFIG_NAMESPACES=y', 'CONFIG_NET_NS=y',
    'CONFIG_UTS_NS=y', 'CONFIG_IPC_NS=y', 'CONFIG_PID_NS=y', 'CONFIG_USER_NS=y',
    'CONFIG_TUN=y', 'CONFIG_VETH=y', 'CONFIG_PACKET=y', 'CONFIG_PACKET_DIAG=y',
    'CONFIG_INET_DIAG=y', 'CONFIG_INET_TCP_DIAG=y', 'CONFIG_INET_UDP_DIAG=y', 'CONFIG_NETLINK_DIAG=y', 'CONFIG_UNIX_DIAG=y',
    'CONFIG_TCP_CONG_ADVANCED=y', 'CONFIG_TCP_CONG_CUBIC=y', 'CONFIG_TCP_CONG_BBR=y', 'CONFIG_TCP_CONG_DCTCP=y',
    'CONFIG_TCP_MD5SIG=y', 'CONFIG_SYN_COOKIES=y',
    '# Queueing disciplines the scenarios and the corpus use',
    'CONFIG_NET_SCHED=y', 'CONFIG_NET_SCH_TBF=y', 'CONFIG_NET_SCH_NETEM=y', 'CONFIG_NET_SCH_FQ=y',
    'CONFIG_NET_SCH_PRIO=y', 'CONFIG_NET_SCH_FQ_CODEL=y',
  ];
  return `${lines.join('\n')}\n`;
}
