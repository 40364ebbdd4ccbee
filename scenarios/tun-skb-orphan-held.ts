/**
 * tun-skb-orphan-held: the positive control of tun-skb-orphan.
 *
 * The same CLOSING case, but after the data is acknowledged and before
 * close() a token-bucket qdisc with a tiny rate goes on tun0:
 *
 *   tc qdisc replace dev tun0 root tbf rate 8bit burst 60 latency 1000s
 *
 * The burst lets our first FIN through; the ACK of the peer's FIN and the
 * tail-loss probe then wait in the qdisc (40 bytes at one byte a second),
 * still charged to the socket, just as every packet was in the unfixed tun
 * driver. The kernel skips each later retransmission because the previous
 * copy is still in the host (TcpExtTCPSpuriousRtxHostQueues) and backs the
 * timer off all the same: ss shows backoff 5 and rto 9472 ms after 11 s,
 * and no FIN retransmission reaches the TUN reader.
 *
 * Passes when the check reports the bug's signature: "retransmissions lost
 * inside the host".
 */
import { check, checkSkbOrphan, defineScenario, diagnoseTunOrphan, tunOrphanEvidence, skbOrphanNumbers, skbOrphanTable, transmissionTable, verdict, type ScenarioEvidence } from '../src/scenario/index.js';
import { PORTABLE_SYSCTLS, simultaneousCloseScript } from './lib/simultaneous-close.js';

const SCRIPT = simultaneousCloseScript({
  title: "tun-skb-orphan-held: simultaneous close with the FIN's retransmissions held in a qdisc",
  // tc runs as soon as the data is acknowledged; close() waits 500 ms behind
  // it, room for an exec of tc that is slow: in a microVM the binary comes
  // over 9p, and there tc took 108-133 ms of guest time, which with close()
  // 100 ms behind it made close() or its FIN late in 7 of 10 checks.
  beforeClose: '// From here on, packets leave tun0 at 8 bit/s after a 60-byte burst\n0.300 `tc qdisc replace dev tun0 root tbf rate 8bit burst 60 latency 1000s`',
  closeAt: 0.8,
  expectAckOfPeerFin: false,
  trailer: "// Our ACK of the peer's FIN now waits in the qdisc: nothing more arrives.\n// The run holds 11 s: a loss probe and five retransmission timeouts.\n",
});

function verify(ev: ScenarioEvidence) {
  const r = checkSkbOrphan(ev);
  const d = diagnoseTunOrphan(tunOrphanEvidence(ev));
  const fins = ev.finTransmissions();
  const checks = [
    check('the kernel backed off its retransmission timer', r.kernel.maxBackoff >= 3,
      `backoff ${r.kernel.maxBackoff}, rto ${r.kernel.maxRtoMs ?? '?'} ms, TcpExtTCPTimeouts ${r.kernel.timeouts}`),
    check('no FIN retransmission reached the TUN reader', r.wire.finRetransmissions === 0 && r.wire.finTransmissions === 1,
      `${r.wire.finTransmissions} FIN transmission(s) at ${r.wire.timesMs.map((t) => (t / 1000).toFixed(3)).join(', ')} s`),
    check('the check reports the signature', r.finding === 'lost-in-host', r.text),
    check('skmem t (sk_wmem_alloc) stays up while the kernel backs off: the held skbs are still charged to the socket',
      r.skmemT !== null && r.skmemT.heldThroughBackoff && r.skmemT.maxBytes > 0,
      r.skmemT ? `skmem t up to ${r.skmemT.maxBytes} B, > 0 in ${r.skmemT.heldSamples}/${r.skmemT.samples} CLOSING samples` : 'no skmem in the timeline'),
  ];
  // The diagnosis leads: a qdisc hold must read as a host queue on every kernel.
  return verdict(d.text, checks, {
    failSummary: `the control did not show the signature: ${d.text}; failed: ${checks.filter((c) => !c.ok).map((c) => c.name).join('; ')}`,
    numbers: { diagnosis: d.text, 'diagnosis: why': d.why, ...skbOrphanNumbers(r) },
    tables: [skbOrphanTable(r), transmissionTable(ev, 'FIN transmissions (kernel)', fins)],
  });
}

export default defineScenario({
  name: 'tun-skb-orphan-held',
  description: 'positive control: a tbf qdisc on tun0 holds the retransmissions inside the host; the skb_orphan check must report the bug\'s signature',
  script: SCRIPT,
  sysctls: { ...PORTABLE_SYSCTLS },
  hold: { maxMs: 11_000 },
  verify,
});
