import type { WatchCallback } from './poll-events.js';

/** One message from `recvmsg`: the bytes, the fds that came with them, and whether the peer closed. */
export interface ReceivedMessage {
  /** The bytes read (at most `maxBytes`); empty at end of stream. */
  readonly bytes: Uint8Array;
  /** The fds that came with them (SCM_RIGHTS), already O_CLOEXEC; the caller owns and closes them. */
  readonly fds: readonly number[];
  /** True when the peer closed the connection: no bytes and no fds. */
  readonly eof: boolean;
}

/** The functions of vhost_native.node as the C code defines them (see native/vhost_native.c). */
export interface NativeBinding {
  configure(
    errorClass: new (message: string, code: string, syscall: string, errno: number) => Error,
    maxBufferLength: number,
  ): void;
  unixListen(path: string, mode: number, backlog: number): number;
  unixAccept(fd: number): number | null;
  unixConnect(path: string): number;
  socketpair(): [number, number];
  sendmsg(fd: number, bytes: Uint8Array, fds: readonly number[]): number;
  recvmsg(fd: number, maxBytes: number, maxFds: number): ReceivedMessage | null;
  eventfd(initial: number): number;
  eventfdRead(fd: number): bigint;
  eventfdWrite(fd: number, value: bigint | number): void;
  setNonBlocking(fd: number, on: boolean): void;
  memfdCreate(name: string, size: number): number;
  watch(fd: number, events: number, callback: WatchCallback): void;
  unwatch(fd: number): boolean;
  close(fd: number): void;
  openFdCount(): number;
  mmap(fd: number, offset: bigint | number, length: number): ArrayBuffer;
  munmap(buffer: ArrayBuffer): boolean;
  pageSize(): number;
}

const FUNCTIONS: readonly (keyof NativeBinding)[] = [
  'configure',
  'unixListen',
  'unixAccept',
  'unixConnect',
  'socketpair',
  'sendmsg',
  'recvmsg',
  'eventfd',
  'eventfdRead',
  'eventfdWrite',
  'setNonBlocking',
  'memfdCreate',
  'watch',
  'unwatch',
  'close',
  'openFdCount',
  'mmap',
  'munmap',
  'pageSize',
];

/**
 * Checks that a loaded module is this addon (a stale build from another version would lack functions).
 * @returns the names of the missing functions
 */
export function missingFunctions(loaded: unknown): string[] {
  if (typeof loaded !== 'object' || loaded === null) return [...FUNCTIONS];
  const record = loaded as Record<string, unknown>;
  return FUNCTIONS.filter((name) => typeof record[name] !== 'function');
}
