/**
 * close-wait: the peer closes first and the application keeps its
 * descriptor, so the socket sits in CLOSE-WAIT for as long as it is held;
 * only close() sends our FIN and moves it to LAST-ACK.
 *
 * The CLOSE_WAIT case of the CLOSING / CLOSE_WAIT article (see
 * close-wait.pkt), with the hold shortened to 3 s and the FIN checked.
 * The peer never acknowledges our FIN, so after the script the socket stays
 * in LAST-ACK (orphaned, retransmitting) for the rest of the run.
 *
 * Verified: every ss sample between the peer's FIN and close() shows the
 * socket in CLOSE-WAIT, still owned by a descriptor; the FIN goes out at
 * close(); every later sample shows LAST-ACK.
 */
import { check, defineScenario, transmissionTable, verdict, type ScenarioEvidence } from '../src/scenario/index.js';
import { PORTABLE_SYSCTLS, PASSIVE_OPEN } from './lib/simultaneous-close.js';

/** When the script calls close(), and how long the descriptor is held before that. */
const CLOSE_MS = 3_350;
const PEER_FIN_MS = 350;

const SCRIPT = `// close-wait: the peer closes, the application holds the socket for 3 s, then closes
${PASSIVE_OPEN}
// The peer sends nothing and closes; the kernel acknowledges its FIN
${(PEER_FIN_MS / 1000).toFixed(3)} < F. 1:1(0) ack 1 win 260
${(PEER_FIN_MS / 1000).toFixed(3)}~${((PEER_FIN_MS + 50) / 1000).toFixed(3)} > . 1:1(0) ack 2

// The application keeps fd 4 until now: CLOSE-WAIT all along
${(CLOSE_MS / 1000).toFixed(3)} close(4) = 0
${(CLOSE_MS / 1000).toFixed(3)} > F. 1:1(0) ack 2
`;

/** Longest gap between full listings: the ss sampler's default interval. */
const MAX_SAMPLE_GAP_MS = 100;

function verify(ev: ScenarioEvidence) {
  const s = (ms: number | undefined | null) => (ms === undefined || ms === null ? '?' : (ms / 1000).toFixed(3));
  const peerFin = ev.finTransmissions('peer').packets[0];
  const fins = ev.finTransmissions();
  const ourFin = fins.packets[0];
  const samples = ev.socket();
  const slack = 5;

  // Every sample entirely between the peer's FIN and our FIN.
  const from = (peerFin?.tMs ?? PEER_FIN_MS) + slack;
  const to = (ourFin?.tMs ?? CLOSE_MS) - slack;
  // Every sample taken after the peer's FIN and finished before our FIN
  // (the timeline keeps changes, and the last sighting before each change).
  const ourFinMs = ourFin?.tMs ?? CLOSE_MS;
  const held = samples.filter((x) => x.tMs >= from && x.endMs < ourFinMs);
  const notCloseWait = held.filter((x) => x.socket?.state !== 'CLOSE-WAIT');
  const withoutFd = held.filter((x) => x.socket && !x.socket.inode);
  const closeWait = ev.timeInState('CLOSE-WAIT');

  // After close(): LAST-ACK, orphaned.
  const afterClose = samples.filter((x) => x.tMs >= (ourFin?.tMs ?? CLOSE_MS) + slack);
  const notLastAck = afterClose.filter((x) => x.socket?.state !== 'LAST-ACK');
  const lastAck = ev.timeInState('LAST-ACK');
  const finOnClose = ourFin !== undefined && Math.abs(ourFin.tMs - CLOSE_MS) <= 10;

  return verdict(
    `CLOSE-WAIT for ${s(closeWait?.minDurationMs)}..${s(closeWait?.maxDurationMs)} s (${held.length} samples) until close() at ${s(ourFin?.tMs)} s; then LAST-ACK`,
    [
      check('every ss sample between the peer\'s FIN and close() shows CLOSE-WAIT', held.length > 0 && notCloseWait.length === 0,
        `${held.length} samples from ${s(from)} to ${s(to)} s${notCloseWait.length ? `; other states at ${notCloseWait.map((x) => `${s(x.tMs)} s (${x.socket?.state ?? 'gone'})`).join(', ')}` : ''}`),
      // The timeline keeps changes only: CLOSE-WAIT must be seen by the
      // peer's FIN and still be seen just before close().
      check('the socket-state timeline shows CLOSE-WAIT over the whole wait', closeWait !== null && closeWait.firstSeenMs <= from && closeWait.lastSeenMs >= to - MAX_SAMPLE_GAP_MS,
        closeWait ? `CLOSE-WAIT seen from ${s(closeWait.firstSeenMs)} to ${s(closeWait.lastSeenMs)} s, wait from ${s(from)} to ${s(to)} s` : 'never seen'),
      check('the application holds a descriptor all along (ss shows an inode)', withoutFd.length === 0 && held.length > 0,
        withoutFd.length ? `no inode at ${withoutFd.map((x) => s(x.tMs)).join(', ')} s` : `inode ${held[0]?.socket?.inode ?? '?'}`),
      check('the FIN goes out at close()', finOnClose,
        `close() at ${s(CLOSE_MS)} s, FIN at ${s(ourFin?.tMs)} s`),
      check('after close() the socket is in LAST-ACK', afterClose.length > 0 && notLastAck.length === 0,
        `${afterClose.length} samples after the FIN${notLastAck.length ? `; other states at ${notLastAck.map((x) => `${s(x.tMs)} s (${x.socket?.state ?? 'gone'})`).join(', ')}` : `, orphaned: ${afterClose.every((x) => x.socket?.orphan) ? 'yes' : 'no'}`}`),
    ],
    {
      numbers: {
        'peer FIN (s)': peerFin ? peerFin.tMs / 1000 : null,
        'CLOSE-WAIT first seen (s)': closeWait ? closeWait.firstSeenMs / 1000 : null,
        'CLOSE-WAIT last seen (s)': closeWait ? closeWait.lastSeenMs / 1000 : null,
        'CLOSE-WAIT duration, min..max (s)': closeWait ? `${s(closeWait.minDurationMs)}..${s(closeWait.maxDurationMs)}` : null,
        'CLOSE-WAIT samples': closeWait?.samples ?? 0,
        'close() in the script (s)': CLOSE_MS / 1000,
        'our FIN (s)': ourFin ? ourFin.tMs / 1000 : null,
        'LAST-ACK first seen (s)': lastAck ? lastAck.firstSeenMs / 1000 : null,
        'LAST-ACK samples': lastAck?.samples ?? 0,
        'FIN transmissions (s)': fins.timesMs.map((t) => t / 1000),
      },
      tables: [transmissionTable(ev, 'FIN transmissions (kernel)', fins)],
    },
  );
}

export default defineScenario({
  name: 'close-wait',
  description: 'the peer closes first and the application keeps its descriptor: CLOSE-WAIT until close(), then LAST-ACK',
  script: SCRIPT,
  sysctls: { ...PORTABLE_SYSCTLS },
  hold: { maxMs: 1_000 },
  verify,
});
