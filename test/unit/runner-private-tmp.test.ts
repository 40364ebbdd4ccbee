/**
 * The worker's private /tmp keeps the mounts under the real /tmp reachable:
 * which mount points /proc/self/mountinfo puts under a folder.
 */
import { describe, expect, it } from 'vitest';
import { mountPointsUnder } from '../../src/runner/worker-guard.js';

const MOUNTINFO = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '30 22 0:25 / /tmp rw,nosuid shared:9 - tmpfs tmp rw',
  '41 30 0:40 / /tmp/s23/vmcap rw,relatime shared:20 - 9p share rw',
  '42 41 0:41 / /tmp/s23/vmcap/inner rw - tmpfs t rw',
  '43 30 0:42 / /tmp/with\\040space rw - tmpfs t rw',
  '44 22 0:43 / /tmpfoo rw - tmpfs t rw',
  '45 22 0:44 / /var/tmp rw - tmpfs t rw',
  '',
].join('\n');

describe('mountPointsUnder', () => {
  it('lists the mounts strictly under the folder, in mount order, with escapes undone', () => {
    expect(mountPointsUnder('/tmp', MOUNTINFO)).toEqual(['/tmp/s23/vmcap', '/tmp/s23/vmcap/inner', '/tmp/with space']);
  });

  it('is empty when nothing is mounted under the folder', () => {
    expect(mountPointsUnder('/srv', MOUNTINFO)).toEqual([]);
    expect(mountPointsUnder('/tmp', '')).toEqual([]);
  });
});
