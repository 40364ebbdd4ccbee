/**
 * Where kernels, extracted images and initramfs archives are kept between
 * runs: $XDG_CACHE_HOME/tundrill, else ~/.cache/tundrill (TUNDRILL_CACHE
 * overrides both).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheRoot(): string {
  if (process.env.TUNDRILL_CACHE) return process.env.TUNDRILL_CACHE;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'tundrill');
}

export function kernelsDir(): string {
  return join(cacheRoot(), 'kernels');
}
