/**
 * closing-backoff: a socket in CLOSING retransmits its FIN with exponential
 * backoff until the orphan retry limit kills it.
 *
 * The simultaneous close of the CLOSING / CLOSE_WAIT article (see
 * closing.pkt): the server accepts, writes 1000 bytes (acknowledged),
 * closes, and the peer's FIN arrives before any ACK of ours, so the socket
 * goes FIN-WAIT-1 -> CLOSING and waits for an ACK that never comes. Its FIN
 * is retransmitted: once by a tail-loss probe, then by the retransmission
 * timer, each time after twice the wait before.
 *
 * By default the namespace sets net.ipv4.tcp_orphan_retries=2, so the
 * orphaned socket is dropped after a few seconds; with --long the default
 * (0, which the kernel treats as 8 for an orphan) keeps it for about 156 s.
 *
 * Verified: CLOSING right after the peer's FIN; the FIN retransmissions
 * reach the TUN reader with intervals that double; every ss sample's rto
 * and backoff agree with the retransmissions seen so far; the socket
 * disappears one rto after its last retransmission.
 */
import { check, checkRtoAgreement, defineScenario, transmissionTable, verdict, type ScenarioEvidence } from '../src/scenario/index.js';
import { PORTABLE_SYSCTLS, simultaneousCloseScript } from './lib/simultaneous-close.js';

const SCRIPT = simultaneousCloseScript({
  title: 'closing-backoff: simultaneous close (the CLOSING / CLOSE_WAIT article), then no ACK of our FIN',
  trailer: '// The script ends here; the run holds until the orphaned socket is gone.\n',
});

const PEER_FIN_MS = 500;

function verify(ev: ScenarioEvidence) {
  const samples = ev.socket();
  const interval = Math.max(1, ...samples.slice(1).map((s, i) => s.tMs - samples[i]!.tMs));
  const peerFin = ev.finTransmissions('peer').packets[0];
  const fins = ev.finTransmissions();
  const kinds = ev.retransmissionKinds(fins);
  const probes = fins.packets.filter((_, i) => kinds[i] === 'probe');
  const timeouts = fins.packets.filter((_, i) => kinds[i] === 'timeout');
  const timeoutTimes = timeouts.map((p) => p.tMs);
  // The timer's series starts at the last transmission before the first timeout.
  const seriesStart = probes.length > 0 ? probes[probes.length - 1]!.tMs : fins.timesMs[0];

  // 1. CLOSING right after the peer's FIN.
  const finAt = peerFin?.tMs ?? PEER_FIN_MS;
  const before = [...samples].reverse().find((s) => s.endMs < finAt && s.socket);
  // A sample taken at the very moment the FIN is written may come before the
  // kernel has taken it in: the first sample that shows the socket move on.
  const after = samples.find((s) => s.tMs >= finAt && s.socket && s.socket.state !== 'FIN-WAIT-1');
  const closingSoon = after?.socket?.state === 'CLOSING' && after.tMs - finAt <= interval + 50;

  // 2. FIN retransmissions with doubling intervals.
  const backoff = ev.checkBackoff(seriesStart === undefined ? [] : [seriesStart, ...timeoutTimes], { minIntervals: ev.long ? 4 : 2 });

  // 3. ss's rto and backoff agree with the retransmissions seen so far.
  const agreement = checkRtoAgreement(ev.rto('CLOSING'), timeoutTimes, seriesStart);

  // 4. Gone one rto after the last retransmission.
  const gone = ev.disappearance();
  const lastRtx = fins.packets.length > 1 ? fins.timesMs[fins.timesMs.length - 1]! : undefined;
  const lastTimeout = timeoutTimes[timeoutTimes.length - 1];
  const base = agreement.baseRtoMs;
  const finalRto = base !== undefined ? Math.min(base * 2 ** timeouts.length, 120_000) : undefined;
  const expectedEnd = lastTimeout !== undefined && finalRto !== undefined ? lastTimeout + finalRto : undefined;
  const goneOk =
    gone !== null && lastRtx !== undefined && expectedEnd !== undefined && finalRto !== undefined &&
    gone.lastState === 'CLOSING' &&
    gone.goneByMs > lastRtx &&
    gone.goneByMs >= expectedEnd - 20 &&
    gone.lastSeenMs <= expectedEnd + finalRto * 0.15 + 20;

  const rtoByBackoff = [...new Map(ev.rto('CLOSING').map((r) => [r.backoff, r.rtoMs ?? -1])).values()];
  const closing = ev.timeInState('CLOSING');
  const s = (ms: number | undefined) => (ms === undefined ? '?' : (ms / 1000).toFixed(3));
  const orphanRetries = ev.sysctls['net.ipv4.tcp_orphan_retries'] ?? 'default (0: 8 for orphans)';

  return verdict(
    `CLOSING from ${s(after?.tMs)} s; FIN sent ${fins.packets.length} times (${probes.length} loss probe, ${timeouts.length} timeouts) with doubling intervals; gone by ${s(gone?.goneByMs)} s`,
    [
      check('CLOSING right after the peer\'s FIN', closingSoon,
        `peer FIN at ${s(peerFin?.tMs)} s; ss before: ${before?.socket?.state ?? '-'} at ${s(before?.tMs)} s; first ss after: ${after?.socket?.state ?? '-'} at ${s(after?.tMs)} s`),
      check('FIN retransmissions reach the TUN reader', fins.retransmissions.length >= (ev.long ? 5 : 2),
        `${fins.retransmissions.length} retransmissions at ${fins.retransmissions.map((p) => s(p.tMs)).join(', ')} s`),
      check('intervals grow exponentially', backoff.ok,
        `${backoff.intervalsMs.map((d) => d.toFixed(0)).join(', ')} ms; ratios ${backoff.ratios.map((r) => r.toFixed(2)).join(', ')} (${backoff.description})${backoff.problems.length ? `; ${backoff.problems.join('; ')}` : ''}`),
      check('ss rto and backoff agree with the retransmissions seen so far', agreement.ok,
        `${agreement.rows.length} CLOSING samples, base rto ${base ?? '?'} ms, rto by backoff ${rtoByBackoff.join(', ')} ms${agreement.problems.length ? `; ${agreement.problems.slice(0, 3).join('; ')}` : ''}`),
      check('the socket disappears one rto after its last retransmission', goneOk,
        gone ? `last retransmission ${s(lastRtx)} s, expected end ${s(expectedEnd)} s (rto ${finalRto ?? '?'} ms), last seen ${s(gone.lastSeenMs)} s, gone by ${s(gone.goneByMs)} s`
          : `still listed when the hold ended (${ev.holdEnded}, ${s(ev.holdEndMs)} s)`),
    ],
    {
      numbers: {
        'tcp_orphan_retries': orphanRetries,
        'peer FIN (s)': peerFin ? peerFin.tMs / 1000 : null,
        'CLOSING first seen (s)': closing ? closing.firstSeenMs / 1000 : null,
        'FIN transmissions (s)': fins.timesMs.map((t) => t / 1000),
        'FIN intervals (ms)': fins.intervalsMs,
        'loss probes': probes.length,
        'timeout retransmissions': timeouts.length,
        'ss base rto (ms)': base ?? null,
        'ss rto by backoff 0,1,2.. (ms)': rtoByBackoff,
        'ss max backoff': Math.max(0, ...ev.rto('CLOSING').map((r) => r.backoff)),
        'socket last seen (s)': gone ? gone.lastSeenMs / 1000 : null,
        'socket gone by (s)': gone ? gone.goneByMs / 1000 : null,
        'TcpRetransSegs': ev.counter('TcpRetransSegs'),
        'TcpExtTCPLossProbes': ev.counter('TcpExtTCPLossProbes'),
        'TcpExtTCPTimeouts': ev.counter('TcpExtTCPTimeouts'),
        'TcpExtTCPAbortOnTimeout': ev.counter('TcpExtTCPAbortOnTimeout'),
      },
      tables: [transmissionTable(ev, 'FIN transmissions (kernel)', fins, kinds)],
    },
  );
}

export default defineScenario({
  name: 'closing-backoff',
  description: 'simultaneous close: the FIN is retransmitted in CLOSING with exponential backoff until tcp_orphan_retries drops the socket',
  script: SCRIPT,
  sysctls: { ...PORTABLE_SYSCTLS, 'net.ipv4.tcp_orphan_retries': '2' },
  hold: { maxMs: 15_000, untilSocketGone: true },
  long: {
    description: 'simultaneous close with the default tcp_orphan_retries: CLOSING for about 156 s, the FIN retransmitted with exponential backoff',
    sysctls: { ...PORTABLE_SYSCTLS },
    hold: { maxMs: 200_000, untilSocketGone: true },
  },
  verify,
});
