/**
 * `tundrill conformance --packetdrill PATH` end to end on the host, with a
 * stand-in for packetdrill (a shell script) that checks the place it runs
 * in is the one packetdrill needs: the script's folder of a link tree
 * where the corpus's `defaults.sh` stub is a real link, a network
 * namespace that is not the host's with loopback up, and a /proc of its
 * own PID namespace (packetdrill reads /proc/<getpid()>/task/<tid>/stat).
 * It passes the ipv4 and mapped variants and fails ipv6 at line 9, so the
 * reference made, the file saved and the comparison are all checked.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuilt, ROOT, tundrill } from '../helpers/cli.js';

const skip = inject('integrationSkip');
const shared = resolve(ROOT, '..', 'shared');
const hasCorpus = existsSync(join(shared, 'corpus', 'packetdrill-gtests', 'tcp', 'close'));

const STAND_IN = `#!/bin/sh
for a; do s=$a; done
fail() { echo "$s:$1: $2" >&2; exit 1; }
[ -f "$s" ] || fail 1 "no script $s in $(pwd)"
[ -x ../common/defaults.sh ] || fail 2 "../common/defaults.sh is not a program"
[ "$(cat /proc/$$/comm 2>/dev/null)" = packetdrill ] || fail 3 "/proc is not this PID namespace's"
[ "$(readlink /proc/self/ns/net)" != "HOST_NS" ] || fail 4 "in the host's network namespace"
ip -o link show dev lo | grep -q 'LOWER_UP' || fail 5 "loopback is down"
case " $* " in *" --ip_version=ipv6 "*) fail 9 "error handling packet: stand-in failure";; esac
exit 0
`;

let dir = '';
beforeAll(() => {
  if (skip || !hasCorpus) return;
  ensureBuilt();
  dir = mkdtempSync('/var/tmp/tundrill-pdref-test-');
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(Boolean(skip) || !hasCorpus)('conformance --packetdrill on the host', () => {
  it('makes packetdrill\'s verdicts where tundrill runs, saves them and compares', async () => {
    const pd = join(dir, 'packetdrill');
    writeFileSync(pd, STAND_IN.replace('HOST_NS', readlinkSync('/proc/self/ns/net')));
    chmodSync(pd, 0o755);
    const ref = join(dir, 'ref.tsv');
    const r = await tundrill(['conformance', '--corpus', 'gtests', '--filter', 'tcp/close/close-on-syn-sent', '--packetdrill', pd, '--save-reference', ref]);
    expect(r.stdout).toMatch(/gtests: packetdrill's verdicts made here on host \([^)]+\): 2 pass, 1 fail, 0 flaky/);
    const rows = readFileSync(ref, 'utf8').split('\n').filter((l) => l.startsWith('tcp/'));
    expect(rows.map((l) => l.split('\t').slice(0, 3).join(' '))).toEqual([
      'tcp/close/close-on-syn-sent.pkt ipv4 pass',
      'tcp/close/close-on-syn-sent.pkt ipv4-mapped-v6 pass',
      'tcp/close/close-on-syn-sent.pkt ipv6 fail',
    ]);
    expect(rows[2]!.split('\t')[4]).toBe('close-on-syn-sent.pkt:9: error handling packet: stand-in failure');
    // tundrill passes all three, so the ipv6 row disagrees with this reference.
    expect(r.stdout).toMatch(/all\s+2 \/ 3/);
    expect(r.stdout).toMatch(/packetdrill: fail close-on-syn-sent\.pkt:9: error handling packet: stand-in failure\n\s+tundrill:\s+pass/);
    expect(r.code).toBe(0);
    // The link tree is gone with the run.
    expect(existsSync(join(dir, '.packetdrill-tree'))).toBe(false);
  });
});
