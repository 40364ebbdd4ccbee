/**
 * tun-skb-orphan: do TCP retransmissions over tun reach the wire?
 *
 * The historic tun bug (see the CLOSING / CLOSE_WAIT article, closing.pkt):
 * tun's transmit path did not call skb_orphan(), so a segment it queued
 * stayed charged to the socket (sk_wmem_alloc never dropped) and the kernel
 * believed the previous copy was still in the host: every retransmission
 * failed silently, while ss showed the rto backing off as if they had gone
 * out. This scenario sets up the CLOSING case (a FIN that is never
 * acknowledged) and compares the two sides over 11 s: what the kernel says
 * it attempted (ss backoff and retrans, TcpExtTCPLossProbes,
 * TcpExtTCPTimeouts, TcpRetransSegs, TcpExtTCPSpuriousRtxHostQueues) and
 * the FIN retransmissions that reached the TUN reader.
 *
 * Verdict: "retransmissions reach the wire" (a fixed driver: the scenario
 * passes) or "retransmissions lost inside the host" (the bug's signature:
 * it fails). tun-skb-orphan-held.ts is the positive control.
 */
import { check, checkSkbOrphan, defineScenario, diagnoseTunOrphan, tunOrphanEvidence, skbOrphanNumbers, skbOrphanTable, transmissionTable, verdict, type ScenarioEvidence } from '../src/scenario/index.js';
import { PORTABLE_SYSCTLS, simultaneousCloseScript } from './lib/simultaneous-close.js';

const SCRIPT = simultaneousCloseScript({
  title: 'tun-skb-orphan: simultaneous close, our FIN never acknowledged (CLOSING)',
  trailer: '// The run holds 11 s: a loss probe and five retransmission timeouts.\n',
});

function verify(ev: ScenarioEvidence) {
  const r = checkSkbOrphan(ev);
  const d = diagnoseTunOrphan(tunOrphanEvidence(ev));
  const fins = ev.finTransmissions();
  const checks = [
    check('the kernel attempted FIN retransmissions in CLOSING', r.kernel.attempted >= 3,
      `${r.kernel.lossProbes} loss probe(s) + backoff ${r.kernel.maxBackoff}`),
    check('every attempted retransmission reached the TUN reader', r.finding === 'reach-wire',
      `${r.wire.finRetransmissions} of ${r.kernel.attempted} on the wire (${r.text})`),
    check('none was held back in a host queue', r.kernel.spuriousRtxHostQueues === 0,
      `TcpExtTCPSpuriousRtxHostQueues ${r.kernel.spuriousRtxHostQueues}`),
    check('skmem t (sk_wmem_alloc) drops to 0 right after each transmission: the device released the skb',
      r.skmemT !== null && r.skmemT.afterEachFin.length > 0 && r.skmemT.afterEachFin.every((v) => v === 0),
      r.skmemT ? `skmem t after each FIN: ${r.skmemT.afterEachFin.map((v) => v ?? '-').join(', ')} B` : 'no skmem in the timeline'),
  ];
  // The diagnosis leads: it is what tells a fixed tun, a broken one and a masked run apart.
  return verdict(d.text, checks, {
    failSummary: `${d.text}; failed: ${checks.filter((c) => !c.ok).map((c) => c.name).join('; ')}`,
    numbers: { diagnosis: d.text, 'diagnosis: why': d.why, ...skbOrphanNumbers(r) },
    tables: [skbOrphanTable(r), transmissionTable(ev, 'FIN transmissions (kernel)', fins)],
  });
}

export default defineScenario({
  name: 'tun-skb-orphan',
  description: 'tun skb_orphan check: FIN retransmissions in CLOSING, what the kernel says against what reaches the TUN reader',
  script: SCRIPT,
  sysctls: { ...PORTABLE_SYSCTLS },
  hold: { maxMs: 11_000 },
  verify,
});
