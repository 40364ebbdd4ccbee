/**
 * One run of one script in one IP variant, inside the worker's network
 * namespace: parse, configure tun0, run every event, then the cleanup
 * command and the `%{ }%` code, and report a verdict with its evidence.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as native from '../native/addon.js';
import { parseScript, ScriptError, effectiveOptions, settingDefines, type OptionSetting, type Script } from '../script/index.js';
import { CaptureLog } from '../evidence/capture-log.js';
import type { EventLog } from './event-log.js';
import { applyOption, ConfigError, finalizeConfig, type RunConfig, type RunOptions } from './config.js';
import { EXIT_FAIL, EXIT_PASS, EXIT_USAGE, TestFailure } from './errors.js';
import { NetDevice, type PacketHook } from './netdev.js';
import type { FirstError, RunResult } from './result.js';
import { CodeRecorder } from './run-code.js';
import { runShellCommand } from './run-command.js';
import { processShims } from './interpreter-shims.js';
import { runCommandEvent } from './command-event.js';
import { runCodeEvent } from './code-event.js';
import { PacketRunner } from './run-packet.js';
import { eventTimings, runEvents } from './run.js';
import { closeScriptFds, FdTable } from './sockets.js';
import { newRunContext, RunClock, type RunEvent } from './state.js';
import { SyscallEvents } from './syscall-events.js';
import { prepareSyscall, symbolResolver, syscallClockFromMonotonic, warmUpSyscalls } from './run-syscall.js';
import { nativeExecutor } from './native-executor.js';
import { warmUp } from './warm-up.js';
import { processCollector } from './collect-garbage.js';
import { scheduleStart, setRewarm } from './clock-wait.js';
import { belowEngines, enterRealtime, leaveRealtime } from './priority.js';
import { flushTrace, trace, traceOrigin, TRACING } from './trace.js';
import type { LinkType, SystemDescription, SystemUnderTest } from '../backend/system-under-test.js';

export interface RunRequest {
  /** Absolute path of the script file. */
  scriptPath: string;
  /** The path as messages show it (packetdrill is run with the basename, from the script's folder). */
  displayPath: string;
  /** packetdrill options from the command line (override the script's option lines). */
  commandLine: OptionSetting[];
  /** Run-all style variant label for reports. */
  variant: string;
  verbose?: boolean;
}

/** The system a run got, as evidence needs to know it. */
export interface OpenedRun {
  system: SystemDescription;
  linkType: LinkType;
  /** Where, in a frame as read or written, the bytes of linkType begin (after the virtio-net header). */
  frameOffset: number;
}

/** Hooks the worker plugs evidence collection into. */
export interface RunHooks {
  /** After the device is up, before the first event (start samplers, read counters). */
  onNetworkReady?(config: RunConfig, opened: OpenedRun): Promise<void> | void;
  /** Every packet injected or read, as the capture keeps it, with its monotonic stamp (keep it cheap). */
  onPacket?: PacketHook;
  /** The script's clock has started: `liveStartNs` is script time 0 (CLOCK_MONOTONIC). */
  onClockStart?(liveStartNs: bigint): void;
  /** After the last event or the failure, before tun0 goes away; `failed` tells which. */
  onRunEnd?(info: { failed: boolean }): Promise<void> | void;
  /** Write the capture; called last, with every packet of the run. */
  writeCapture?(log: CaptureLog): Promise<void>;
  log?(line: string): void;
  /** The run's packet log, if the caller wants to hold it (to flush it when killed). */
  captureLog?: CaptureLog;
  /** Filled with every event's expected and actual times, if given. */
  eventLog?: EventLog;
}

function optionsFrom(settings: Map<string, string>, defines: Record<string, string>, where: string): RunOptions {
  const opts: RunOptions = {};
  for (const [name, value] of settings) {
    const bare = ['tcp_ts_ecr_scaled', 'strict_segments', 'verbose', 'dry_run', 'is_anyip', 'send_omit_free', 'debug', 'wire_client', 'wire_server'];
    if (bare.includes(name)) {
      if (['is_anyip', 'send_omit_free', 'debug', 'wire_client', 'wire_server'].includes(name)) continue;
      applyOption(opts, name, undefined, where);
      continue;
    }
    if (['wire_server_ip', 'wire_server_at', 'wire_server_port', 'wire_client_dev', 'wire_server_dev', 'so_filename', 'so_flags', 'psp_udp_port'].includes(name)) {
      continue;
    }
    applyOption(opts, name, value, where);
  }
  opts.defines = defines;
  return opts;
}

function failureToError(f: TestFailure, displayPath: string): FirstError {
  const text = f.format(displayPath);
  return { line: f.line, headline: text.split('\n')[0]!, text, kind: f.kind };
}

/**
 * The script parsed and its configuration settled (command line over the
 * script's option lines), or how the run ends before it starts: a semantic
 * error fails it, a syntax or option error is a usage error.
 */
function loadScript(
  req: RunRequest,
): { script: Script; config: RunConfig } | { failure: Pick<RunResult, 'verdict' | 'exitCode' | 'firstError'> } {
  let source: string;
  try {
    source = readFileSync(req.scriptPath, 'utf8');
  } catch (e) {
    const headline = `${req.displayPath}: cannot read the script: ${(e as Error).message}`;
    return { failure: { verdict: 'error', exitCode: EXIT_USAGE, firstError: { line: 0, headline, text: headline, kind: 'internal' } } };
  }
  const cmdDefines = settingDefines(req.commandLine);
  let cmdIpVersion: RunOptions['ipVersion'];
  for (const o of req.commandLine) {
    if (o.name === 'ip_version') cmdIpVersion = o.value as RunOptions['ipVersion'];
  }
  try {
    const script = parseScript(source, {
      path: req.displayPath,
      defines: cmdDefines,
      ...(cmdIpVersion ? { ipVersion: cmdIpVersion } : {}),
    });
    const settings = effectiveOptions(script.options, req.commandLine.filter((o) => o.name !== 'define'));
    return { script, config: finalizeConfig(optionsFrom(settings, script.defines, req.displayPath)) };
  } catch (e) {
    if (e instanceof ScriptError) {
      const firstError = { line: e.line, headline: e.message.split('\n')[0]!, text: `${e.message}\n${e.detail}`, kind: e.kind };
      return e.kind === 'semantic'
        ? { failure: { verdict: 'fail', exitCode: EXIT_FAIL, firstError } }
        : { failure: { verdict: 'error', exitCode: EXIT_USAGE, firstError } };
    }
    if (e instanceof ConfigError) {
      return { failure: { verdict: 'error', exitCode: EXIT_USAGE, firstError: { line: 0, headline: e.message, text: e.message, kind: 'option' } } };
    }
    throw e;
  }
}

function phase(name: string): void {
  if (!TRACING) return;
  const cpu = process.cpuUsage();
  trace(`phase ${name} (${performance.now().toFixed(1)} ms since process start, ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms of this process's CPU)`);
}

export async function runScript(req: RunRequest, sut: SystemUnderTest, hooks: RunHooks = {}): Promise<RunResult> {
  const started = performance.now();
  phase('start');
  const log = hooks.log ?? (() => {});
  const capture = hooks.captureLog ?? new CaptureLog();
  const result: RunResult = {
    script: req.displayPath,
    variant: req.variant,
    verdict: 'pass',
    exitCode: EXIT_PASS,
    durationMs: 0,
    warnings: [],
    evidence: {},
    packets: { injected: 0, sniffed: 0 },
    injectionErrorsUsecs: [],
  };
  const done = (): RunResult => {
    result.durationMs = performance.now() - started;
    result.packets = { injected: capture.injected, sniffed: capture.sniffed };
    return result;
  };

  // ---- script and configuration --------------------------------------------
  const loaded = loadScript(req);
  if ('failure' in loaded) {
    Object.assign(result, loaded.failure);
    return done();
  }
  const { script, config } = loaded;
  if (config.dryRun) return done();

  phase('parsed');
  // ---- device and namespace --------------------------------------------------
  const system = await sut.open(config);
  result.overhead = { startMs: 0, tunMs: system.openTimings.deviceMs, netMs: system.openTimings.namespaceMs, addonMs: 0 };
  result.system = system.description;
  const dev = new NetDevice(system.io, capture, hooks.onPacket);
  dev.start();

  const fds = new FdTable();
  const clock = new RunClock({ nowNs: native.nowNs });
  const ctx = newRunContext({
    config, script, displayPath: req.displayPath, scriptDir: dirname(req.scriptPath), fds, clock,
    ...(hooks.eventLog ? { eventLog: hooks.eventLog } : {}),
  });
  const code = new CodeRecorder();
  let nextPort = 40000 + Math.floor(Math.random() * 20000);
  const packets = new PacketRunner(ctx, dev, capture, {
    ephemeralPort: () => nextPort++,
    ...(config.verbose ? { verbose: log } : {}),
  });
  let rejectAbort!: (e: unknown) => void;
  const abort = new Promise<never>((_, reject) => { rejectAbort = reject; });
  abort.catch(() => {});
  const executor = nativeExecutor();
  const symbol = symbolResolver(config);
  const syscallCtx = { config, fds, symbol, clock: syscallClockFromMonotonic(() => clock.liveStartNs) };
  const syscalls = new SyscallEvents(
    ctx,
    executor,
    (ev) => prepareSyscall(syscallCtx, (ev.ast as Extract<RunEvent['ast'], { type: 'syscall' }>).syscall),
    (f) => rejectAbort(f),
  );

  let initDone = false;
  let realtime = false;
  const runCleanup = (): void => {
    if (!script.cleanupCommand || !initDone) return;
    const r = runShellCommand(script.cleanupCommand.commandLine, { cwd: ctx.scriptDir });
    if (!r.ok) result.warnings.push(`${req.displayPath}: error executing cleanup command: ${r.error}`);
  };

  try {
    phase('network configured');
    await hooks.onNetworkReady?.(config, { system: system.description, linkType: system.io.framing.linkType, frameOffset: system.io.framing.captureOffset });
    phase('evidence started');
    if (script.initCommand) {
      const r = runShellCommand(script.initCommand.commandLine, { cwd: ctx.scriptDir });
      if (!r.ok) throw new TestFailure('command', 0, `error executing init command: ${r.error}`);
      initDone = true;
    }
    phase('init command done');
    // Ask pyenv, if python3 is its shim, before the clock rather than at the first command.
    processShims().pathFor(ctx.scriptDir);
    packets.prebuild(ctx.events);
    // Collect garbage now rather than in the middle of the script.
    processCollector.beforeRun();
    // The warm-up runs at the ordinary level: with every packet of a long
    // script built once it is milliseconds of work, which at the engines'
    // level would hold other runs' engines on this CPU.
    await warmUp(ctx.events, config.wireFamily === 'inet' ? 4 : 6, executor);
    warmUpSyscalls(config, symbol);
    // A marking V8 began during the warm-up ends here, not in the script.
    await processCollector.beforeClock();
    packets.warmPackets(ctx.events);
    const getpid = native.sysNr('getpid');
    setRewarm((untilNs) => {
      packets.warmPackets(ctx.events, 4, untilNs);
      native.syscall(getpid, []);
    });
    phase('warmed up');
    realtime = enterRealtime();
    clock.liveStartNs = belowEngines(scheduleStart);
    result.clockStartNs = clock.liveStartNs.toString();
    traceOrigin(clock.liveStartNs);
    hooks.onClockStart?.(clock.liveStartNs);
    phase('clock started');
    await runEvents(ctx, {
      packet: (ev) => packets.run(ev),
      syscall: (ev) => syscalls.run(ev),
      command: (ev) => runCommandEvent(ctx, ev, log),
      code: (ev) => runCodeEvent(ctx, ev, code),
    }, abort);
    phase('events done');
    if (realtime) leaveRealtime();
    runCleanup();
    const codeFailure = await code.execute(req.displayPath, config.codeCommand, ctx.scriptDir);
    if (codeFailure) {
      if (codeFailure.output) log(codeFailure.output.trimEnd());
      throw new TestFailure('code', codeFailure.line, codeFailure.message, codeFailure.output ? [codeFailure.output.trimEnd()] : []);
    }
    await Promise.race([syscalls.finish(), abort]);
  } catch (e) {
    if (!(e instanceof TestFailure)) throw e;
    if (e.kind !== 'code') runCleanup();
    result.verdict = 'fail';
    result.exitCode = EXIT_FAIL;
    result.firstError = failureToError(e, req.displayPath);
  } finally {
    setRewarm(null);
    if (realtime) leaveRealtime();
    await hooks.onRunEnd?.({ failed: result.verdict !== 'pass' });
    closeScriptFds(fds);
    dev.stop();
    result.injectionErrorsUsecs = dev.injectionErrorsNs.map((ns) => Number(ns) / 1000);
    if (dev.stamps) result.packetStamps = dev.stamps;
    result.timing = eventTimings(ctx);
    try {
      if (system.report) result.device = { kind: system.description.backend, numbers: system.report() };
    } catch (e) {
      result.warnings.push(`device numbers not read: ${(e as Error).message}`);
    }
    phase('run ended');
    await hooks.writeCapture?.(capture);
    phase('evidence written');
    system.close();
    phase('system closed');
    flushTrace();
  }
  return done();
}
