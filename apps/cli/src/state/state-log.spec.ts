import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { StateError } from '../errors.js';
import { foldState } from './fold-state.js';
import type { StateEvent } from './state-event.js';
import { StateLog } from './state-log.js';

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vdpa-kit-state-'));
  path = join(dir, 'sub', 'state.jsonl');
});

function errorOf(fn: () => unknown): StateError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StateError) return err;
    throw err;
  }
  throw new Error('expected a StateError');
}

describe('StateLog', () => {
  it('reads a missing file as empty and appends numbered whole lines', () => {
    const log = new StateLog(path);
    expect(log.read()).toEqual([]);
    const first = log.append(
      { op: 'dev_add', name: 'vdpa0', mgmtdev: 'vdpasim_net', mac: '001122334455', mtu: 9000 },
      [],
    );
    const second = log.append({ op: 'dev_del', name: 'vdpa0' }, [first], new Date('2025-01-01T00:00:00Z'));
    expect(first.seq).toBe(1);
    expect(second).toEqual({ v: 1, seq: 2, ts: '2025-01-01T00:00:00.000Z', op: 'dev_del', name: 'vdpa0' });
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[0])).toMatchObject({
      v: 1,
      seq: 1,
      op: 'dev_add',
      name: 'vdpa0',
      mac: '001122334455',
    });
    expect(log.read()).toEqual([first, second]);
  });

  it('names the line of a corrupt entry', () => {
    const log = new StateLog(path);
    const e1 = log.append({ op: 'dev_add', name: 'a', mgmtdev: 'vdpasim_net' }, []);
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"v":1,"seq":2,"ts":"x"\n`);
    const err = errorOf(() => log.read());
    expect(err.line).toBe(2);
    expect(err.message).toContain(`${path} line 2 is corrupt: not valid JSON`);
    expect(e1.seq).toBe(1);
  });

  it('rejects bad fields, a non-increasing seq, blank lines and a torn last line', () => {
    const ts = '2025-01-01T00:00:00.000Z';
    const cases: [string, number, string][] = [
      [`{"v":2,"seq":1,"ts":"${ts}","op":"dev_del","name":"a"}\n`, 1, 'version 2'],
      [`{"v":1,"seq":1,"ts":"${ts}","op":"dev_frob","name":"a"}\n`, 1, 'op "dev_frob"'],
      [`{"v":1,"seq":1,"ts":"${ts}","op":"dev_add","name":"a","mgmtdev":"m","mac":"00:11"}\n`, 1, 'mac'],
      [`{"v":1,"seq":1,"ts":"${ts}","op":"dev_del","name":"a","extra":1}\n`, 1, 'field "extra"'],
      [
        `{"v":1,"seq":2,"ts":"${ts}","op":"dev_del","name":"a"}\n{"v":1,"seq":2,"ts":"${ts}","op":"dev_del","name":"a"}\n`,
        2,
        'seq 2',
      ],
      [`\n`, 1, 'blank'],
      [`{"v":1,"seq":1,"ts":"${ts}","op":"dev_del","name":"a"}`, 1, 'incomplete'],
    ];
    for (const [text, line, why] of cases) {
      const file = join(dir, `case-${line}-${why.length}.jsonl`);
      writeFileSync(file, text);
      const err = errorOf(() => new StateLog(file).read());
      expect(err.line).toBe(line);
      expect(err.message).toContain(why);
    }
  });
});

describe('foldState', () => {
  it('keeps live devices in add order with their last MAC', () => {
    const log = new StateLog(path);
    const events: StateEvent[] = [];
    events.push(
      log.append({ op: 'dev_add', name: 'a', mgmtdev: 'vdpasim_net', mtu: 1500, maxVqp: 2 }, events),
    );
    events.push(
      log.append({ op: 'dev_add', name: 'b', mgmtdev: 'mvnet', deviceFeatures: '0x300000000' }, events),
    );
    events.push(log.append({ op: 'dev_set_attr', name: 'a', mac: '020000000001' }, events));
    events.push(log.append({ op: 'dev_add', name: 'c', mgmtdev: 'vdpasim_net' }, events));
    events.push(log.append({ op: 'dev_del', name: 'b' }, events));
    const state = foldState(log.read(), path);
    expect([...state.devices.keys()]).toEqual(['a', 'c']);
    const a = state.devices.get('a');
    expect(a?.request).toEqual({ net: { mtu: 1500, maxVqPairs: 2 } });
    expect(Array.from(a?.setMac ?? [])).toEqual([2, 0, 0, 0, 0, 1]);
    expect(a?.line).toBe(1);
  });

  it('reports events that contradict the log before them', () => {
    const ts = '2025-01-01T00:00:00.000Z';
    writeFileSync(
      join(dir, 'x.jsonl'),
      `{"v":1,"seq":1,"ts":"${ts}","op":"dev_add","name":"a","mgmtdev":"m"}\n{"v":1,"seq":2,"ts":"${ts}","op":"dev_add","name":"a","mgmtdev":"m"}\n`,
    );
    const err = errorOf(() => foldState(new StateLog(join(dir, 'x.jsonl')).read(), 'x.jsonl'));
    expect(err.line).toBe(2);
    expect(err.message).toContain('dev_add of a, which exists since line 1');
    const del = errorOf(() => foldState([{ v: 1, seq: 1, ts, op: 'dev_del', name: 'zz' }], 'y'));
    expect(del.message).toContain('dev_del of zz, which does not exist');
  });
});
