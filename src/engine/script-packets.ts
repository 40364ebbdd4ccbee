/**
 * The script packets of a run's packet lines, built before the script's
 * clock starts so that none is built while an event is due. A script
 * packet depends on its line alone (and the run's IP family); a line that
 * cannot be built fails when its event runs, as it would have.
 */
import { buildScriptPacket, PacketBuildError, type ScriptPacket } from './build-packet.js';
import { TestFailure } from './errors.js';
import type { RunEvent } from './state.js';

export class ScriptPackets {
  /** By event index: the packet, or the failure its event reports. */
  private readonly built = new Map<number, ScriptPacket | TestFailure>();

  constructor(private readonly family: 4 | 6) {}

  /** Build the packet of every packet line now. */
  prebuild(events: readonly RunEvent[]): void {
    for (const ev of events) {
      if (ev.ast.type !== 'packet') continue;
      try {
        this.built.set(ev.index, this.build(ev));
      } catch (e) {
        if (!(e instanceof TestFailure)) throw e;
        this.built.set(ev.index, e);
      }
    }
  }

  /** The prebuilt packets (the events' index and packet), left where they are. */
  *prebuilt(): IterableIterator<[number, ScriptPacket]> {
    for (const [index, p] of this.built) if (!(p instanceof TestFailure)) yield [index, p];
  }

  /** The packet of an event's line (built now if it was not before); a TestFailure when it cannot be built. */
  take(ev: RunEvent): ScriptPacket {
    const got = this.built.get(ev.index);
    if (got === undefined) return this.build(ev);
    this.built.delete(ev.index);
    if (got instanceof TestFailure) throw got;
    return got;
  }

  private build(ev: RunEvent): ScriptPacket {
    if (ev.ast.type !== 'packet') throw new Error('not a packet event');
    try {
      return buildScriptPacket(ev.ast.packet, this.family);
    } catch (e) {
      if (e instanceof PacketBuildError) throw new TestFailure('semantic', ev.line, `semantic error: ${e.message}`);
      throw e;
    }
  }
}
