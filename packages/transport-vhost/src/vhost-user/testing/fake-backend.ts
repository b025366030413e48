import { type VhostUserBackend, type VhostUserRingAddresses } from '../backend.js';
import { type VhostUserMemoryTable } from '../memory-table.js';

/** One call the fake received, with its arguments. */
export type FakeBackendCall =
  | { readonly op: 'setFeatures'; readonly features: bigint }
  | { readonly op: 'setStatus'; readonly status: number }
  | { readonly op: 'setConfig'; readonly offset: number; readonly data: readonly number[] }
  | { readonly op: 'setMemTable'; readonly regions: number }
  | { readonly op: 'setVringNum'; readonly index: number; readonly num: number }
  | { readonly op: 'setVringAddr'; readonly index: number; readonly addresses: VhostUserRingAddresses }
  | { readonly op: 'setVringBase'; readonly index: number; readonly base: number }
  | { readonly op: 'getVringBase'; readonly index: number }
  | { readonly op: 'setVringKick'; readonly index: number; readonly fd: number | null }
  | { readonly op: 'setVringCall'; readonly index: number; readonly fd: number | null }
  | { readonly op: 'setVringEnable'; readonly index: number; readonly enabled: boolean }
  | { readonly op: 'reset' };

/** Settings of a {@link FakeVhostUserBackend}. */
export interface FakeVhostUserBackendOptions {
  /** Device feature bits offered. Default: none. */
  readonly features?: bigint;
  /** Rings. Default 2. */
  readonly numVrings?: number;
  /** GET_QUEUE_NUM answer. Default `numVrings / 2`. */
  readonly queueNum?: number;
  /** Config space bytes (its size is `configSize`). Default: none. */
  readonly config?: Uint8Array;
}

/**
 * A {@link VhostUserBackend} for tests: records every call, keeps status, config, ring bases and
 * readiness like a device would, and lets a test advance a ring (`consume`) or make a method throw
 * (`failOn`).
 */
export class FakeVhostUserBackend implements VhostUserBackend {
  readonly numVrings: number;
  readonly queueNum: number;
  readonly configSize: number;
  /** Every call, in order. */
  readonly calls: FakeBackendCall[] = [];
  /** The last memory table given. */
  table: VhostUserMemoryTable | null = null;
  private readonly features: bigint;
  private readonly config: Uint8Array;
  private status = 0;
  private readonly bases = new Map<number, number>();
  private readonly ready = new Set<number>();
  private failing: string | null = null;

  constructor(options: FakeVhostUserBackendOptions = {}) {
    this.features = options.features ?? 0n;
    this.numVrings = options.numVrings ?? 2;
    this.queueNum = options.queueNum ?? Math.max(1, this.numVrings >> 1);
    this.config = options.config?.slice() ?? new Uint8Array(0);
    this.configSize = this.config.byteLength;
  }

  /** Makes the named method throw until called with `null`. */
  failOn(method: string | null): void {
    this.failing = method;
  }

  /** Pretends the device processed `n` buffers of a ring (its base advances). */
  consume(index: number, n: number): void {
    this.bases.set(index, ((this.bases.get(index) ?? 0) + n) & 0xffff);
  }

  /** Indices of the rings the backend was told to run. */
  readyRings(): number[] {
    return [...this.ready].sort((a, b) => a - b);
  }

  /** The calls of one kind (`op`). */
  callsOf<K extends FakeBackendCall['op']>(op: K): Extract<FakeBackendCall, { op: K }>[] {
    return this.calls.filter((c): c is Extract<FakeBackendCall, { op: K }> => c.op === op);
  }

  private check(method: string): void {
    if (this.failing === method) throw new Error(`${method} refused by the fake`);
  }

  getFeatures(): bigint {
    this.check('getFeatures');
    return this.features;
  }
  setFeatures(features: bigint): void {
    this.check('setFeatures');
    this.calls.push({ op: 'setFeatures', features });
  }
  getStatus(): number {
    return this.status;
  }
  setStatus(status: number): void {
    this.check('setStatus');
    this.calls.push({ op: 'setStatus', status });
    this.status = status;
    if (status === 0) {
      this.bases.clear();
      this.ready.clear();
    }
  }
  getConfig(offset: number, size: number): Uint8Array {
    this.check('getConfig');
    return this.config.slice(offset, offset + size);
  }
  setConfig(offset: number, data: Uint8Array): void {
    this.check('setConfig');
    this.calls.push({ op: 'setConfig', offset, data: [...data] });
    this.config.set(data, offset);
  }
  setMemTable(table: VhostUserMemoryTable): void {
    this.check('setMemTable');
    this.calls.push({ op: 'setMemTable', regions: table.regions.length });
    this.table = table;
  }
  setVringNum(index: number, num: number): void {
    this.check('setVringNum');
    this.calls.push({ op: 'setVringNum', index, num });
  }
  setVringAddr(index: number, addresses: VhostUserRingAddresses): void {
    this.check('setVringAddr');
    this.calls.push({ op: 'setVringAddr', index, addresses });
  }
  setVringBase(index: number, base: number): void {
    this.check('setVringBase');
    this.calls.push({ op: 'setVringBase', index, base });
    this.bases.set(index, base);
  }
  getVringBase(index: number): number {
    this.check('getVringBase');
    this.calls.push({ op: 'getVringBase', index });
    return this.bases.get(index) ?? 0;
  }
  setVringKick(index: number, fd: number | null): void {
    this.check('setVringKick');
    this.calls.push({ op: 'setVringKick', index, fd });
  }
  setVringCall(index: number, fd: number | null): void {
    this.check('setVringCall');
    this.calls.push({ op: 'setVringCall', index, fd });
  }
  setVringEnable(index: number, enabled: boolean): void {
    this.check('setVringEnable');
    this.calls.push({ op: 'setVringEnable', index, enabled });
    if (enabled) this.ready.add(index);
    else this.ready.delete(index);
  }
  reset(): void {
    this.calls.push({ op: 'reset' });
    this.status = 0;
    this.bases.clear();
    this.ready.clear();
    this.table = null;
  }
}
