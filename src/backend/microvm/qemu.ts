/**
 * The qemu command line of a tundrill guest: -M microvm, one vCPU, no
 * network device at all (-nic none), the host's root read-only and one
 * writable share over virtio-9p, a virtio-serial port for runs and
 * results, the serial console on stdio.
 */
import type { AccelChoice, VmClock } from './accel.js';

export const QEMU = 'qemu-system-x86_64';

export interface QemuPlan {
  vmlinux: string;
  initramfs: string;
  accel: AccelChoice['accel'];
  clock: VmClock;
  memoryMb: number;
  /** Host folder the guest writes evidence to; mounted at the same path inside. */
  share: string;
  /** File name of the boot script inside `share`. */
  bootScript: string;
  /** Unix socket qemu listens on for the run channel. */
  socket: string;
  tscKhz: number | null;
  /** Without ACPI, the kernel finds the virtio-mmio devices on its command line. */
  acpi: boolean;
}

export function kernelCommandLine(p: QemuPlan): string {
  const parts = [
    'console=ttyS0', 'loglevel=4', 'reboot=t', 'panic=-1', 'rdinit=/init', 'nokaslr',
    ...(p.tscKhz ? [`tsc_early_khz=${p.tscKhz}`, 'tsc=reliable'] : []),
    `tundrill.share=${p.share}`, `tundrill.boot=${p.bootScript}`,
  ];
  return parts.join(' ');
}

export function qemuArgs(p: QemuPlan): string[] {
  if (/[\s,]/.test(p.share)) throw new Error(`the evidence folder ${p.share} has a space or comma in its path, which the VM share cannot take`);
  const accel = p.accel === 'kvm'
    ? ['-accel', 'kvm', '-cpu', 'host']
    : p.clock === 'icount'
      ? ['-accel', 'tcg,thread=single', '-icount', 'shift=0,sleep=on', '-cpu', 'max']
      : p.clock === 'icount-skip'
      ? ['-accel', 'tcg,thread=single', '-icount', 'shift=0,sleep=off', '-cpu', 'max']
      : ['-accel', 'tcg', '-cpu', 'max'];
  return [
    '-M', `microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=${p.acpi ? 'on' : 'off'}`,
    ...accel,
    '-smp', '1',
    '-m', `${p.memoryMb}M`,
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    '-nic', 'none',
    '-serial', 'stdio',
    '-kernel', p.vmlinux,
    '-initrd', p.initramfs,
    '-append', kernelCommandLine(p),
    '-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-device,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev', `local,id=share,path=${p.share},security_model=none,multidevs=remap`,
    '-device', 'virtio-9p-device,fsdev=share,mount_tag=share',
    '-chardev', `socket,id=chan,path=${p.socket},server=on,wait=off`,
    '-device', 'virtio-serial-device',
    '-device', 'virtserialport,chardev=chan,name=tundrill',
  ];
}
