/**
 * The `tundrill` package: run packetdrill scripts and scenarios from
 * TypeScript (runScript, runScenario), write scenarios (defineScenario and
 * the evidence helpers, also at `tundrill/scenario`), and the types of
 * their results.
 */
export {
  runScript,
  runScenario,
  EnvironmentError,
  type RunOptions,
  type ScriptOptions,
  type ScenarioOptions,
  type ScriptRun,
  type ScenarioRun,
} from './api/index.js';
export type { EventTiming, FirstError, RunResult, Verdict as RunVerdict } from './engine/result.js';
export type { IpVersion } from './engine/config.js';
export * from './scenario/index.js';
