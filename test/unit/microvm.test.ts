/**
 * The microVM kernel backend's pure parts: the initramfs archive (read back
 * by busybox cpio when present), bzImage payload extraction, IKCONFIG,
 * module dependency order from .modinfo, the config check and fragment,
 * Debian package choice, the qemu command line and the guest's boot script.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { cpioArchive, readCpio, S_IFCHR, S_IFDIR, S_IFREG } from '../../src/backend/microvm/cpio.js';
import { bzImagePayload, embeddedConfig, extractVmlinux, imageKind, vmlinuxRelease } from '../../src/backend/microvm/kernel-image.js';
import { dependsOf, modinfo, resolveModules } from '../../src/backend/microvm/modules.js';
import { checkConfig, configFragment, configHash, configHz, parseConfig, REQUIREMENTS } from '../../src/backend/microvm/kernel-config.js';
import { debianPackageCandidates } from '../../src/backend/microvm/debian-fetch.js';
import { kernelCommandLine, qemuArgs, type QemuPlan } from '../../src/backend/microvm/qemu.js';
import { bootScript } from '../../src/backend/microvm/vm.js';
import { guestTscKhz } from '../../src/backend/microvm/accel.js';
import { initScript } from '../../src/backend/microvm/initramfs.js';

const tmp = mkdtempSync(join(tmpdir(), 'tundrill-microvm-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A minimal 64-bit ELF with a .modinfo section holding `info`. */
function fakeModule(info: string[]): Buffer {
  const modinfoData = Buffer.from(info.map((s) => `${s}\0`).join(''));
  const shstr = Buffer.from('\0.modinfo\0.shstrtab\0');
  const ehdr = Buffer.alloc(64);
  ehdr.writeUInt32BE(0x7f454c46, 0);
  ehdr[4] = 2; // 64-bit
  ehdr[5] = 1; // little endian
  const dataOff = 64;
  const strOff = dataOff + modinfoData.length;
  const shoff = strOff + shstr.length;
  ehdr.writeBigUInt64LE(BigInt(shoff), 0x28);
  ehdr.writeUInt16LE(64, 0x3a);
  ehdr.writeUInt16LE(3, 0x3c);
  ehdr.writeUInt16LE(2, 0x3e);
  const sh = (name: number, off: number, size: number): Buffer => {
    const b = Buffer.alloc(64);
    b.writeUInt32LE(name, 0);
    b.writeBigUInt64LE(BigInt(off), 0x18);
    b.writeBigUInt64LE(BigInt(size), 0x20);
    return b;
  };
  return Buffer.concat([ehdr, modinfoData, shstr, sh(0, 0, 0), sh(1, dataOff, modinfoData.length), sh(10, strOff, shstr.length)]);
}

describe('initramfs archive (newc cpio)', () => {
  const entries = [
    { path: 'bin', mode: S_IFDIR | 0o755 },
    { path: 'dev/console', mode: S_IFCHR | 0o600, rdev: [5, 1] as [number, number] },
    { path: 'init', mode: S_IFREG | 0o755, data: '#!/bin/sh\necho hi\n' },
    { path: 'lib/modules/a.ko', mode: S_IFREG | 0o644, data: Buffer.from([1, 2, 3, 4, 5]) },
  ];
  const archive = cpioArchive(entries);

  it('reads back what it wrote, device numbers included, padded to 4 bytes', () => {
    expect(archive.length % 4).toBe(0);
    const back = readCpio(archive);
    expect(back.map((e) => e.path)).toEqual(['bin', 'dev/console', 'init', 'lib/modules/a.ko']);
    expect(back[1]!.rdev).toEqual([5, 1]);
    expect((back[2]!.data as Buffer).toString()).toBe('#!/bin/sh\necho hi\n');
    expect([...(back[3]!.data as Buffer)]).toEqual([1, 2, 3, 4, 5]);
  });

  it.skipIf(!existsSync('/bin/busybox'))('busybox cpio lists it', () => {
    const r = spawnSync('/bin/busybox', ['cpio', '-t'], { input: archive, encoding: 'utf8' });
    expect(r.stdout.trim().split('\n')).toEqual(['bin', 'dev/console', 'init', 'lib/modules/a.ko']);
  });
});

describe('kernel images', () => {
  const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(57), Buffer.from('Linux version 6.1.0-57-amd64 (debian-kernel) #1 SMP\0'), Buffer.alloc(4000, 7)]);

  function fakeBzImage(payload: Buffer): Buffer {
    const setupSects = 1;
    const pm = (setupSects + 1) * 512;
    const b = Buffer.alloc(pm + 64 + payload.length + 16);
    b[0x1f1] = setupSects;
    b.write('HdrS', 0x202, 'ascii');
    b.writeUInt32LE(64, 0x248);
    b.writeUInt32LE(payload.length, 0x24c);
    payload.copy(b, pm + 64);
    return b;
  }

  it('finds the payload of a bzImage and decompresses it into the ELF vmlinux', () => {
    const xz = spawnSync('xz', ['-c', '--check=crc32'], { input: elf });
    expect(xz.status).toBe(0);
    const path = join(tmp, 'bzImage');
    writeFileSync(path, fakeBzImage(xz.stdout));
    expect(imageKind(path)).toBe('bzimage');
    expect(bzImagePayload(readFileSync(path)).decompressor[0]).toBe('xz');
    const out = extractVmlinux(path);
    expect(out.equals(elf)).toBe(true);
    expect(vmlinuxRelease(out)).toBe('6.1.0-57-amd64');
    const elfPath = join(tmp, 'vmlinux');
    writeFileSync(elfPath, out);
    expect(imageKind(elfPath)).toBe('elf');
  });

  it('recognises gzip and zstd payloads and refuses an unknown one', () => {
    expect(bzImagePayload(fakeBzImage(gzipSync(elf))).decompressor[0]).toBe('gzip');
    expect(bzImagePayload(fakeBzImage(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]))).decompressor[0]).toBe('zstd');
    expect(() => bzImagePayload(fakeBzImage(Buffer.from('nothing known')))).toThrow(/not recognised/);
  });

  it('reads an IKCONFIG embedded in the image', () => {
    const cfg = 'CONFIG_TUN=y\nCONFIG_HZ=1000\n';
    const img = Buffer.concat([Buffer.alloc(100), Buffer.from('IKCFG_ST'), gzipSync(cfg), Buffer.from('IKCFG_ED'), Buffer.alloc(10)]);
    expect(embeddedConfig(img)).toBe(cfg);
    expect(embeddedConfig(Buffer.alloc(100))).toBeNull();
  });
});

describe('modules', () => {
  it('reads depends= from .modinfo', () => {
    const m = fakeModule(['license=GPL', 'depends=9pnet,netfs', 'name=9p']);
    expect(modinfo(m).get('name')).toEqual(['9p']);
    expect(dependsOf(m)).toEqual(['9pnet', 'netfs']);
  });

  it('orders a set so every module follows its dependencies, skipping built-in ones', () => {
    const dir = join(tmp, 'lib', 'modules', '6.1.0-test');
    mkdirSync(join(dir, 'kernel', 'fs', '9p'), { recursive: true });
    mkdirSync(join(dir, 'kernel', 'net', '9p'), { recursive: true });
    writeFileSync(join(dir, 'kernel', 'fs', '9p', '9p.ko'), fakeModule(['depends=9pnet,netfs,fscache']));
    writeFileSync(join(dir, 'kernel', 'net', '9p', '9pnet.ko'), fakeModule(['depends=']));
    writeFileSync(join(dir, 'kernel', 'net', '9p', '9pnet_virtio.ko'), fakeModule(['depends=9pnet,virtio_ring']));
    writeFileSync(join(dir, 'kernel', 'fs', 'netfs.ko'), fakeModule(['depends=']));
    writeFileSync(join(dir, 'kernel', 'fs', 'fscache.ko'), fakeModule(['depends=netfs']));
    writeFileSync(join(dir, 'modules.builtin'), 'kernel/drivers/virtio/virtio_ring.ko\n');
    const { modules, absent } = resolveModules(dir, ['9pnet_virtio', '9p', 'no_such_module']);
    const order = modules.map((m) => m.name);
    expect(order).toEqual(['9pnet', '9pnet_virtio', 'netfs', 'fscache', '9p']);
    expect(absent).toEqual(['no_such_module']);
  });
});

describe('kernel config', () => {
  it('the fragment satisfies every requirement, optional ones included', () => {
    const { missing, missingOptional } = checkConfig(parseConfig(configFragment()));
    expect(missing).toEqual([]);
    expect(missingOptional).toEqual([]);
  });

  it('names what a config lacks; ACPI stands in for command-line virtio devices', () => {
    const lines = configFragment().split('\n').filter((l) => !/CONFIG_(TUN|INET_TCP_DIAG|VIRTIO_MMIO_CMDLINE_DEVICES|NET_SCH_NETEM)=/.test(l));
    const without = checkConfig(parseConfig(lines.join('\n')));
    expect(without.missing.map((r) => r.anyOf[0])).toEqual(['CONFIG_TUN', 'CONFIG_INET_TCP_DIAG', 'CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES']);
    expect(without.missingOptional.map((r) => r.anyOf[0])).toEqual(['CONFIG_NET_SCH_NETEM']);
    const withAcpi = checkConfig(parseConfig(`${lines.join('\n')}\nCONFIG_ACPI=y\nCONFIG_TUN=m\nCONFIG_INET_TCP_DIAG=m\n`));
    expect(withAcpi.missing).toEqual([]);
    expect(REQUIREMENTS.length).toBeGreaterThan(20);
  });

  it('hashes the enabled options independent of order and reads HZ', () => {
    const a = parseConfig('CONFIG_A=y\nCONFIG_HZ=250\n# CONFIG_B is not set\n');
    const b = parseConfig('CONFIG_HZ=250\nCONFIG_A=y\n');
    expect(configHash(a)).toBe(configHash(b));
    expect(configHash(a)).not.toBe(configHash(parseConfig('CONFIG_A=m\nCONFIG_HZ=250\n')));
    expect(configHz(a)).toBe(250);
  });
});

describe('Debian kernel packages', () => {
  it('picks the newest generic amd64 flavour of a version', () => {
    const names = ['linux-image-6.1.0-50-amd64', 'linux-image-6.1.0-57-amd64', 'linux-image-6.1.0-9-amd64', 'linux-image-6.1.0-57-cloud-amd64',
      'linux-image-6.1.0-57-rt-amd64', 'linux-image-6.1.0-57-amd64-unsigned', 'linux-image-6.12.48+deb13-amd64', 'linux-image-amd64'];
    expect(debianPackageCandidates('6.1', names)).toEqual(['linux-image-6.1.0-57-amd64', 'linux-image-6.1.0-50-amd64', 'linux-image-6.1.0-9-amd64']);
    expect(debianPackageCandidates('6.1.0-50', names)).toEqual(['linux-image-6.1.0-50-amd64']);
    expect(debianPackageCandidates('5.10', names)).toEqual([]);
  });
});

describe('qemu command line', () => {
  const plan: QemuPlan = {
    vmlinux: '/k/vmlinux', initramfs: '/k/initramfs.cpio', accel: 'tcg', clock: 'icount', memoryMb: 1024,
    share: '/work/p/captures', bootScript: '.tundrill-vm/boot-1.sh', socket: '/tmp/s.sock', tscKhz: guestTscKhz('tcg', 'icount'), acpi: true,
  };

  it('has no network device, one vCPU, the host root read-only, icount on a single TCG thread', () => {
    const a = qemuArgs(plan);
    const joined = a.join(' ');
    expect(joined).toContain('-nic none');
    expect(joined).toContain('-smp 1');
    expect(joined).toContain('-accel tcg,thread=single -icount shift=0,sleep=on');
    expect(qemuArgs({ ...plan, clock: 'icount-skip' }).join(' ')).toContain('-icount shift=0,sleep=off');
    expect(joined).toMatch(/path=\/,security_model=none,readonly=on/);
    expect(joined).toContain(`path=${plan.share},`);
    expect(a).not.toContain('-netdev');
    expect(a[a.indexOf('-M') + 1]).toMatch(/^microvm,.*acpi=on/);
  });

  it('fixes the TSC rate (1 GHz under icount) and names the share and boot script', () => {
    const cmd = kernelCommandLine(plan);
    expect(cmd).toContain('tsc_early_khz=1000000 tsc=reliable');
    expect(cmd).toContain('tundrill.share=/work/p/captures tundrill.boot=.tundrill-vm/boot-1.sh');
    expect(guestTscKhz('kvm', 'icount')).toBeNull();
    expect(qemuArgs({ ...plan, clock: 'realtime' }).join(' ')).not.toContain('-icount');
  });

  it('refuses a share path the command line cannot carry', () => {
    expect(() => qemuArgs({ ...plan, share: '/a b/c' })).toThrow(/space or comma/);
  });

  it('the boot script quotes the guest command and opens the run channel as stdin and fd 3', () => {
    const s = bootScript({ guestCommand: ['/usr/bin/node', "/p/it's.js"], guestEnv: { A: 'x y' } });
    expect(s).toContain("A='x y'");
    expect(s).toContain(`'/p/it'\\''s.js'`);
    expect(s).toContain('0<>"/dev/$port" 3>&0');
    expect(initScript()).toContain('hostroot /host');
  });

  it('the guest makes the mount point of an evidence share under its own /tmp or /run before binding it', () => {
    const lines = initScript().split('\n');
    const tmpfs = lines.findIndex((l) => l.startsWith('mount -t tmpfs -o mode=1777 tmp /host/tmp'));
    const mk = lines.findIndex((l) => l.includes('/tmp/*|/run/*) mkdir -p "/host$share"'));
    const bind = lines.findIndex((l) => l.startsWith('mount --bind /share "/host$share"'));
    expect(tmpfs).toBeGreaterThan(0);
    expect(mk).toBeGreaterThan(tmpfs);
    expect(bind).toBeGreaterThan(mk);
  });
});

describe('kernel comparison tables', async () => {
  const { scriptComparison, scenarioComparison } = await import('../../src/report/compare.js');
  const facts = (spec: string, release: string) => ({ spec, release, configHash: null, hz: 250, accelerator: 'tcg', clock: 'icount' });
  const row = (spec: string, verdict: 'pass' | 'fail', line = 0) => ({
    path: 'closing.pkt', variant: 'ipv4', output: '', kernel: facts(spec, spec === 'host' ? '6.18' : '6.1.0-57-amd64'),
    result: {
      script: 'closing.pkt', variant: 'ipv4', verdict, exitCode: verdict === 'pass' ? 0 : 1, durationMs: 1, warnings: [], evidence: {},
      packets: { injected: 0, sniffed: 0 }, injectionErrorsUsecs: [],
      ...(line ? { firstError: { line, headline: `closing.pkt:${line}: wscale 7 vs 10`, text: '', kind: 'packet' } } : {}),
    },
  });

  it('marks a script whose verdict differs between kernels', () => {
    const t = scriptComparison([row('host', 'pass'), row('debian:6.1', 'fail', 17)], ['host', 'debian:6.1']);
    expect(t).toContain('closing.pkt (ipv4)   <- differs');
    expect(t).toMatch(/debian:6\.1\s+6\.1\.0-57-amd64\s+fail\s+closing\.pkt:17: wscale 7 vs 10/);
    expect(t).toContain('1 script runs compared on 2 kernels: 1 differ');
    expect(scriptComparison([row('host', 'pass'), row('debian:6.1', 'pass')], ['host', 'debian:6.1'])).toContain('0 differ');
  });

  it('puts a scenario\'s numbers side by side', () => {
    const t = scenarioComparison([
      { kernel: 'host', scenario: 'closing-backoff', pass: true, summary: 'ok', numbers: { 'FIN sends': 3, 'intervals (s)': [0.2, 0.4] } },
      { kernel: 'debian:6.1', scenario: 'closing-backoff', pass: false, summary: 'late', numbers: { 'FIN sends': 3, 'intervals (s)': [0.2, 0.6] } },
    ], ['host', 'debian:6.1']);
    expect(t).toMatch(/verdict\s+pass\s+FAIL/);
    expect(t).toMatch(/FIN sends\s+3\s+3\s*$/m);
    expect(t).toMatch(/intervals \(s\)\s+0\.2,0\.4\s+0\.2,0\.6\s+<- differs/);
    expect(t).toContain('debian:6.1: late');
  });
});

describe('the boot-time line', async () => {
  const { bootSummary } = await import('../../src/cli/kernels.js');
  it('gives one boot as is, several as median and range', () => {
    expect(bootSummary([4321])).toBe('booted in 4.32 s');
    expect(bootSummary([5000, 3000, 4000])).toBe('3 boots, median 4.00 s (3.00-5.00 s)');
    expect(bootSummary([1000, 4000, 2000, 3000])).toBe('4 boots, median 2.50 s (1.00-4.00 s)');
  });
});

describe.skipIf(process.getuid?.() !== 0)("qemu's main loop priority", () => {
  it('is SCHED_FIFO, reset on fork, and a failure says why', async () => {
    const { spawn } = await import('node:child_process');
    const { prioritizeMainLoop } = await import('../../src/backend/microvm/vm.js');
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      expect(prioritizeMainLoop(child.pid!)).toBeNull();
      // /proc/<pid>/stat field 41 is the policy: 1 is SCHED_FIFO; reset-on-fork shows in chrt's report.
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      expect(fields[41 - 3]).toBe('1');
      expect(spawnSync('chrt', ['-p', String(child.pid)], { encoding: 'utf8' }).stdout).toMatch(/SCHED_FIFO\|SCHED_RESET_ON_FORK/);
    } finally {
      child.kill('SIGKILL');
    }
    expect(prioritizeMainLoop(2 ** 22 + 12345)).toMatch(/\S/);
  });
});
