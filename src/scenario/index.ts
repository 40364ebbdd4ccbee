/**
 * The scenario API: `import { defineScenario, ... } from 'tundrill/scenario'`
 * (or, inside this repository, from '../src/scenario/index.js').
 */
export {
  defineScenario,
  check,
  verdict,
  effectiveSettings,
  scenarioProblems,
  type Scenario,
  type ScenarioSettings,
  type Verdict,
  type Check,
  type Table,
  type NumberValue,
  type HoldOptions,
} from './api.js';
export { ScenarioEvidence, loadEvidence, type EvidenceFiles, type TimeOrigin, type TransmissionKind } from './evidence.js';
export {
  transmissionsOf,
  matchesSegment,
  segmentKey,
  tcpFlagLetters,
  type Packet,
  type SegmentMatch,
  type Sender,
  type Transmissions,
} from './packets.js';
export {
  trackSocket,
  stateSpans,
  timeInState,
  disappearance,
  rtoSamples,
  defaultSocketFilter,
  type SsPoint,
  type SocketFilter,
  type SocketSample,
  type StateSpan,
  type TimeInState,
  type Disappearance,
  type RtoSample,
  type SeriesName,
  type SeriesPoint,
  SERIES,
} from './sockets.js';
export {
  checkExponentialBackoff,
  checkRtoAgreement,
  TCP_RTO_MAX_MS,
  type BackoffCheck,
  type BackoffOptions,
  type RtoAgreement,
  type RtoAgreementOptions,
  type RtoObservation,
} from './backoff.js';
export { checkSkbOrphan, skbOrphanNumbers, skbOrphanTable, skmemTRange, type SkbOrphanReport, type SkbOrphanFinding, type SkmemT } from './checks.js';
export {
  diagnoseTunOrphan,
  tunOrphanEvidence,
  runDeviceReport,
  TUN_ORPHAN_VERDICT_TEXT,
  type TunOrphanEvidence,
  type TunOrphanDiagnosis,
  type TunOrphanVerdictKind,
  type TunDeviceKind,
} from './tun-orphan-diagnosis.js';
export { formatTable, timelineView, ssLine, transmissionTable } from './summary.js';
export type { SsSocket, SsState, SsTcpInfo } from '../evidence/ss-parser.js';
export type { SocketState, Skmem, SocketTimer, TcpInfoFields } from '../evidence/socket-state.js';
