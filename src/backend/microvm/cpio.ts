/**
 * A newc ("070701") cpio archive writer: what the kernel unpacks as an
 * initramfs. Uncompressed; the kernel takes it as it is.
 */
export interface CpioEntry {
  path: string;
  /** File mode including the type bits (0o100644, 0o040755, 0o120777). */
  mode: number;
  /** File contents, or the target for a symlink. */
  data?: Buffer | string;
  /** Device number of a device node (major, minor). */
  rdev?: [number, number];
}

export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(ino: number, mode: number, size: number, nameLen: number, rdev: [number, number]): string {
  // magic ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  const nlink = (mode & 0o170000) === S_IFDIR ? 2 : 1;
  return '070701' + [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], nameLen, 0].map(hex8).join('');
}

/** The archive for `entries`, in order (directories before what they hold). */
export function cpioArchive(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    offset += b.length;
  };
  const add = (ino: number, path: string, mode: number, data: Buffer, rdev: [number, number] = [0, 0]): void => {
    const name = Buffer.from(`${path}\0`);
    const head = Buffer.from(header(ino, mode, data.length, name.length, rdev), 'ascii');
    push(head);
    push(name);
    push(Buffer.alloc(pad4(head.length + name.length)));
    push(data);
    push(Buffer.alloc(pad4(data.length)));
  };
  entries.forEach((e, i) => {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data);
    add(i + 1, e.path.replace(/^\/+/, ''), e.mode, data, e.rdev);
  });
  add(0, 'TRAILER!!!', 0, Buffer.alloc(0));
  push(Buffer.alloc(pad4(offset)));
  return Buffer.concat(parts);
}

/** Read a newc archive back (for tests and for inspecting a cached initramfs). */
export function readCpio(buf: Buffer): CpioEntry[] {
  const out: CpioEntry[] = [];
  let off = 0;
  for (;;) {
    if (buf.toString('ascii', off, off + 6) !== '070701') throw new Error(`cpio: bad magic at ${off}`);
    const field = (i: number): number => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameLen = field(11);
    const rdev: [number, number] = [field(9), field(10)];
    const nameStart = off + 110;
    const name = buf.toString('utf8', nameStart, nameStart + nameLen - 1);
    let p = nameStart + nameLen;
    p += pad4(p);
    const data = buf.subarray(p, p + size);
    p += size;
    p += pad4(p);
    off = p;
    if (name === 'TRAILER!!!') return out;
    out.push({ path: name, mode, data: Buffer.from(data), ...(rdev[0] || rdev[1] ? { rdev } : {}) });
  }
}
