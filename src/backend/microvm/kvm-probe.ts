/**
 * Does /dev/kvm boot a stock kernel? Boot `kernel` under KVM with its
 * initramfs and no run to do: /init reaching user space and printing its
 * complaint is the proof. A KVM that aborts (PVM on MSR 0x10a) or crawls
 * fails within the time limit.
 */
import { spawn } from 'node:child_process';
import { MARK_FAIL } from './initramfs.js';
import type { Initramfs } from './initramfs.js';
import type { GuestKernel } from './kernel.js';
import { QEMU } from './qemu.js';

export function probeKvm(kernel: GuestKernel, initramfs: Initramfs, timeoutMs = 30_000): Promise<{ ok: boolean; detail: string }> {
  const acpi = kernel.config?.get('CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES') !== 'y' && kernel.config?.get('CONFIG_ACPI') === 'y';
  const child = spawn(QEMU, [
    '-M', `microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=${acpi ? 'on' : 'off'}`, '-accel', 'kvm', '-cpu', 'host',
    '-smp', '1', '-m', '512M', '-nodefaults', '-no-user-config', '-nographic', '-no-reboot', '-nic', 'none', '-serial', 'stdio',
    '-kernel', kernel.vmlinux, '-initrd', initramfs.path, '-append', 'console=ttyS0 reboot=t panic=-1 rdinit=/init',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve) => {
    let done = false;
    const end = (ok: boolean, detail: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => end(false, `no user space within ${timeoutMs / 1000} s`), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(MARK_FAIL)) end(true, 'booted');
    });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', (e) => end(false, e.message));
    child.on('close', (code) => end(false, `qemu exited with ${code}: ${out.trim().split('\n').pop() ?? ''}`.slice(0, 200)));
  });
}
