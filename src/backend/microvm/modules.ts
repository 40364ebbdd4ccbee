/**
 * A kernel's modules for the guest: find each by name under
 * lib/modules/<release>/, read its `.modinfo` `depends=`, and order the
 * set so every module comes after what it depends on (what modprobe would
 * do, without modules.dep).
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

export function moduleName(file: string): string {
  return file.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/** name → path of every module under `dir`. */
export function indexModules(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (/\.ko(\.(xz|zst|gz))?$/.test(ent.name)) out.set(moduleName(ent.name), p);
    }
  };
  walk(dir);
  return out;
}

/** Module names built into the kernel (modules.builtin). */
export function builtinModules(dir: string): Set<string> {
  const f = join(dir, 'modules.builtin');
  if (!existsSync(f)) return new Set();
  return new Set(readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => moduleName(l.split('/').pop()!)));
}

/** A module file's contents, decompressed. */
export function moduleBytes(path: string): Buffer {
  const raw = readFileSync(path);
  const tool = path.endsWith('.xz') ? ['xz', '-dc'] : path.endsWith('.zst') ? ['zstd', '-dcq'] : path.endsWith('.gz') ? ['gzip', '-dc'] : null;
  if (!tool) return raw;
  const r = spawnSync(tool[0]!, tool.slice(1), { input: raw, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${path}: ${tool[0]} failed: ${(r.stderr ?? '').toString().trim()}`);
  return r.stdout;
}

/** The `.modinfo` section's key=value strings of an ELF module. */
export function modinfo(elf: Buffer): Map<string, string[]> {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) throw new Error('not a 64-bit ELF module');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const sec = (i: number): { name: number; off: number; size: number } => {
    const b = shoff + i * shentsize;
    return { name: elf.readUInt32LE(b), off: Number(elf.readBigUInt64LE(b + 0x18)), size: Number(elf.readBigUInt64LE(b + 0x20)) };
  };
  const strtab = sec(shstrndx);
  const out = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = sec(i);
    const nameEnd = elf.indexOf(0, strtab.off + s.name);
    if (elf.toString('ascii', strtab.off + s.name, nameEnd) !== '.modinfo') continue;
    for (const kv of elf.toString('utf8', s.off, s.off + s.size).split('\0')) {
      const eq = kv.indexOf('=');
      if (eq <= 0) continue;
      const k = kv.slice(0, eq);
      out.set(k, [...(out.get(k) ?? []), kv.slice(eq + 1)]);
    }
  }
  return out;
}

export function dependsOf(elf: Buffer): string[] {
  return (modinfo(elf).get('depends') ?? []).flatMap((d) => d.split(',')).filter(Boolean).map((d) => d.replace(/-/g, '_'));
}

export interface ResolvedModule {
  name: string;
  path: string;
  bytes: Buffer;
}

/**
 * The modules `wanted` needs, dependencies first. Names that are built in
 * or absent are skipped (`absent` lists the latter).
 */
export function resolveModules(dir: string, wanted: string[]): { modules: ResolvedModule[]; absent: string[] } {
  const index = indexModules(dir);
  const builtin = builtinModules(dir);
  const order: ResolvedModule[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const absent: string[] = [];
  const visit = (name: string): void => {
    if (done.has(name) || visiting.has(name)) return;
    const path = index.get(name);
    if (!path) {
      if (!builtin.has(name)) absent.push(name);
      done.add(name);
      return;
    }
    visiting.add(name);
    const bytes = moduleBytes(path);
    for (const d of dependsOf(bytes)) visit(d);
    visiting.delete(name);
    done.add(name);
    order.push({ name, path, bytes });
  };
  for (const w of wanted) visit(w.replace(/-/g, '_'));
  return { modules: order, absent };
}
