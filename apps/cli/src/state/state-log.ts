import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StateError } from '../errors.js';
import {
  STATE_FORMAT_VERSION,
  type NewStateEvent,
  type StateEvent,
  formatStateLine,
  parseStateLine,
} from './state-event.js';

/**
 * The management state as an append-only JSON Lines event log (one {@link StateEvent} per line).
 * Reading validates every line; appending writes one whole line with a single `appendFileSync` and
 * `fsync`s it. Callers serialise read-validate-append with {@link withStateLock}.
 *
 * @example
 * const log = new StateLog('/tmp/state.jsonl');
 * const events = log.read();
 * log.append({ op: 'dev_del', name: 'vdpa0' }, events);
 */
export class StateLog {
  /** @param path the state file (need not exist yet) */
  constructor(readonly path: string) {}

  /**
   * Reads and validates the whole log. A missing file is an empty log.
   * @throws StateError naming the line number of the first corrupt line (bad JSON, bad fields, a
   * `seq` that does not increase, a blank line, or a last line without its newline)
   */
  read(): StateEvent[] {
    if (!existsSync(this.path)) return [];
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      throw new StateError(`cannot read state file ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    if (text.length === 0) return [];
    const lines = text.split('\n');
    const last = lines.pop();
    if (last !== '') {
      const n = lines.length + 1;
      throw new StateError(
        `state file ${this.path} line ${n} is corrupt: the line is incomplete (no newline)`,
        { line: n },
      );
    }
    const events: StateEvent[] = [];
    let seq = 0;
    for (let i = 0; i < lines.length; i++) {
      const n = i + 1;
      const where = `${this.path} line ${n}`;
      if (lines[i].trim().length === 0)
        throw new StateError(`state file ${where} is corrupt: the line is blank`, { line: n });
      const event = parseStateLine(lines[i], where, n);
      if (event.seq <= seq) {
        throw new StateError(`state file ${where} is corrupt: seq ${event.seq} does not follow ${seq}`, {
          line: n,
        });
      }
      seq = event.seq;
      events.push(event);
    }
    return events;
  }

  /**
   * Appends `event` after `after` (the events just read under the same lock): stamps `v`, the next
   * `seq` and `ts`, writes the line in one `appendFileSync` and `fsync`s. Creates the directory and
   * the file when needed.
   * @returns the stored event
   * @throws StateError when the file cannot be written
   */
  append(event: NewStateEvent, after: readonly StateEvent[], now: Date = new Date()): StateEvent {
    const seq = (after.length === 0 ? 0 : after[after.length - 1].seq) + 1;
    const stored = { v: STATE_FORMAT_VERSION, seq, ts: now.toISOString(), ...event } as StateEvent;
    const line = formatStateLine(stored);
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const fd = openSync(this.path, 'a');
      try {
        appendFileSync(fd, line);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw new StateError(`cannot append to state file ${this.path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return stored;
  }
}
