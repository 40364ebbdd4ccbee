/**
 * Kernel images: tell a bzImage from an ELF vmlinux, take the uncompressed
 * vmlinux out of a bzImage's payload (qemu boots an ELF vmlinux through its
 * PVH note and skips the in-guest decompressor, seconds under emulation),
 * read the release string and an embedded IKCONFIG.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export type ImageKind = 'elf' | 'bzimage' | 'unknown';

function head(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

export function imageKind(path: string): ImageKind {
  const b = head(path, 0x210);
  if (b.length >= 4 && b.readUInt32BE(0) === 0x7f454c46) return 'elf';
  if (b.length >= 0x206 && b.toString('ascii', 0x202, 0x206) === 'HdrS') return 'bzimage';
  return 'unknown';
}

/** The bzImage's compressed payload and the program that decompresses it. */
export function bzImagePayload(image: Buffer): { data: Buffer; decompressor: string[] } {
  if (image.toString('ascii', 0x202, 0x206) !== 'HdrS') throw new Error('not a bzImage (no HdrS header)');
  const setupSects = image[0x1f1] || 4;
  const pm = (setupSects + 1) * 512;
  const payloadOffset = image.readUInt32LE(0x248);
  const payloadLength = image.readUInt32LE(0x24c);
  const data = image.subarray(pm + payloadOffset, pm + payloadOffset + payloadLength);
  const magic = data.subarray(0, 6);
  if (magic[0] === 0xfd && magic.toString('ascii', 1, 5) === '7zXZ') return { data, decompressor: ['xz', '-dc', '--single-stream'] };
  if (magic.readUInt32LE(0) === 0xfd2fb528) return { data, decompressor: ['zstd', '-dcq'] };
  if (magic[0] === 0x1f && magic[1] === 0x8b) return { data, decompressor: ['gzip', '-dc'] };
  if (magic.toString('ascii', 0, 4) === '\x89LZO') return { data, decompressor: ['lzop', '-dc'] };
  if (magic.readUInt32LE(0) === 0x184c2102) return { data, decompressor: ['lz4', '-dc'] };
  if (magic[0] === 0x42 && magic[1] === 0x5a && magic[2] === 0x68) return { data, decompressor: ['bzip2', '-dc'] };
  if (magic[0] === 0x5d && magic[1] === 0x00) return { data, decompressor: ['xz', '-dc', '--format=lzma'] };
  throw new Error(`bzImage payload compression not recognised (magic ${magic.toString('hex')})`);
}

/** Decompress a bzImage's payload into an ELF vmlinux. */
export function extractVmlinux(bzImagePath: string): Buffer {
  const { data, decompressor } = bzImagePayload(readFileSync(bzImagePath));
  const [cmd, ...args] = decompressor as [string, ...string[]];
  const r = spawnSync(cmd, args, { input: data, maxBuffer: 1 << 30 });
  // xz and zstd may complain about trailing bytes after the stream; the ELF header decides.
  const out = r.stdout ?? Buffer.alloc(0);
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message} (install it, e.g. apt-get install ${cmd === 'xz' ? 'xz-utils' : cmd})`);
  if (out.length < 64 || out.readUInt32BE(0) !== 0x7f454c46) {
    throw new Error(`${bzImagePath}: the decompressed payload is not an ELF vmlinux (${cmd}: ${(r.stderr ?? '').toString().trim().split('\n')[0] ?? ''})`);
  }
  return out;
}

/** The release (uname -r) a bzImage names in its header, e.g. "6.1.0-57-amd64". */
export function bzImageRelease(path: string): string | null {
  const b = head(path, 0x4000);
  if (b.toString('ascii', 0x202, 0x206) !== 'HdrS') return null;
  const off = b.readUInt16LE(0x20e) + 0x200;
  const end = b.indexOf(0, off);
  if (end < 0) return null;
  return b.toString('ascii', off, end).split(' ')[0] ?? null;
}

/** The release a vmlinux holds in its "Linux version X ..." banner. */
export function vmlinuxRelease(image: Buffer): string | null {
  const at = image.indexOf('Linux version ');
  if (at < 0) return null;
  const end = image.indexOf(' ', at + 14);
  return image.toString('ascii', at + 14, end);
}

/** The kernel config embedded with CONFIG_IKCONFIG (between IKCFG_ST and IKCFG_ED), if any. */
export function embeddedConfig(image: Buffer): string | null {
  const st = image.indexOf('IKCFG_ST');
  if (st < 0) return null;
  const ed = image.indexOf('IKCFG_ED', st);
  if (ed < 0) return null;
  try {
    return gunzipSync(image.subarray(st + 8, ed)).toString('utf8');
  } catch {
    return null;
  }
}
