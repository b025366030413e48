import type { NativeBinding, ReceivedMessage } from './binding.js';
import type { WatchCallback } from './poll-events.js';

// Built once: eventfdReadNumber() runs on every kick wake-up.
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** Options of {@link NativeVhost.listen}. */
export interface ListenOptions {
  /** Permission bits of the socket file; default 0o600 (only this user may connect). */
  readonly mode?: number;
  /** listen(2) backlog; default 16. */
  readonly backlog?: number;
}

/** Default mode of a listening socket's file: owner read/write only. */
export const DEFAULT_SOCKET_MODE = 0o600;
/** Default listen(2) backlog. */
export const DEFAULT_BACKLOG = 16;
/** The most fds one message can carry (SCM_MAX_FD in include/net/scm.h). */
export const MAX_FDS_PER_MESSAGE = 253;

/**
 * The addon's system calls, typed. Get one from `loadNative()`.
 *
 * Every fd it creates is non-blocking and close-on-exec. Every failing call throws a `NativeError`
 * (`code` = errno name, `syscall`); a wrong argument type throws a `TypeError`, an argument out of range a
 * `RangeError`. Reads that would block return `null` (or `0n` for an eventfd) instead of throwing EAGAIN.
 *
 * @example
 * ```ts
 * const native = loadNative();
 * const listener = native.listen('/tmp/vhost.sock');
 * native.watch(listener, POLL_READABLE, () => {
 *   const conn = native.accept(listener);
 *   if (conn !== null) native.watch(conn, POLL_READABLE, () => onReadable(conn));
 * });
 * ```
 */
export class NativeVhost {
  /** The system page size: mmap offsets must be a multiple of it. */
  readonly pageSize: number;

  /** @param binding the loaded addon (see `loadNative()`) */
  constructor(private readonly binding: NativeBinding) {
    this.pageSize = binding.pageSize();
  }

  /**
   * Creates a listening AF_UNIX stream socket at `path`. The file is created with `mode` (never more
   * open, even for a moment) and then set to exactly `mode`. An existing file at `path` is an error
   * (EADDRINUSE): removing a stale socket is the caller's decision.
   * @returns the listening fd
   * @throws NativeError EADDRINUSE, EACCES, ENOENT (no such directory), …
   * @throws RangeError when the path does not fit `sun_path` (107 bytes)
   */
  listen(path: string, options: ListenOptions = {}): number {
    return this.binding.unixListen(
      path,
      options.mode ?? DEFAULT_SOCKET_MODE,
      options.backlog ?? DEFAULT_BACKLOG,
    );
  }

  /**
   * Accepts one pending connection (accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC).
   * @returns the connection's fd, or null when none is pending
   * @throws NativeError EBADF, EINVAL (not listening), ENOTSOCK, EMFILE, …
   */
  accept(listenFd: number): number | null {
    return this.binding.unixAccept(listenFd);
  }

  /**
   * Connects to the AF_UNIX stream socket at `path` (completes at once unless the listener's backlog is
   * full, when it waits) and makes the fd non-blocking.
   * @throws NativeError ENOENT (nobody listens there), ECONNREFUSED, EACCES, …
   */
  connect(path: string): number {
    return this.binding.unixConnect(path);
  }

  /** A connected pair of AF_UNIX stream sockets (socketpair(2)), e.g. for a worker or a test. */
  socketpair(): [number, number] {
    return this.binding.socketpair();
  }

  /**
   * Sends `bytes` with `fds` attached as one SCM_RIGHTS control message. The fds stay open here (the
   * peer gets duplicates). The kernel may take fewer bytes than given on a full socket; the fds go with
   * the first byte taken.
   * @returns the number of bytes sent
   * @throws NativeError EAGAIN (the socket buffer is full), EPIPE / ECONNRESET (peer gone), EBADF, …
   * @throws RangeError for more than {@link MAX_FDS_PER_MESSAGE} fds, or fds with no byte to carry them
   */
  sendmsg(fd: number, bytes: Uint8Array, fds: readonly number[] = []): number {
    return this.binding.sendmsg(fd, bytes, fds);
  }

  /**
   * Receives up to `maxBytes` bytes and up to `maxFds` fds (MSG_CMSG_CLOEXEC).
   * @returns the message, with `eof` set when the peer closed; null when nothing is there yet
   * @throws NativeError EMSGSIZE when the peer sent more than `maxFds` fds (MSG_CTRUNC): every fd that
   *   arrived is closed and the bytes of that message are lost, so the stream cannot be trusted after it
   * @throws NativeError EBADF, ENOTSOCK, ECONNRESET, …
   */
  recvmsg(fd: number, maxBytes: number, maxFds = 0): ReceivedMessage | null {
    return this.binding.recvmsg(fd, maxBytes, maxFds);
  }

  /**
   * Creates an eventfd (EFD_NONBLOCK | EFD_CLOEXEC) with the counter at `initial`.
   * @throws RangeError when `initial` is not a u32
   */
  eventfd(initial = 0): number {
    return this.binding.eventfd(initial);
  }

  /**
   * Reads and resets an eventfd's counter.
   * @returns the counter, or 0n when it was 0 (nothing signalled since the last read)
   * @throws NativeError EBADF, EINVAL (not an eventfd-like fd), …
   */
  eventfdRead(fd: number): bigint {
    return this.binding.eventfdRead(fd);
  }

  /**
   * {@link eventfdRead} as a number, for counters that stay below 2^53.
   * @throws RangeError when the counter was above Number.MAX_SAFE_INTEGER (it is reset all the same)
   */
  eventfdReadNumber(fd: number): number {
    const value = this.binding.eventfdRead(fd);
    if (value > MAX_SAFE_BIG) {
      throw new RangeError(`eventfd counter ${value} on fd ${fd} is above Number.MAX_SAFE_INTEGER`);
    }
    return Number(value);
  }

  /**
   * Adds `value` to an eventfd's counter (a doorbell: kick or call).
   * @throws NativeError EAGAIN when the counter would pass 2^64 - 2, EINVAL for 2^64 - 1, EBADF, …
   * @throws RangeError when `value` is negative, not an integer, or above 2^64 - 1
   */
  eventfdWrite(fd: number, value: bigint | number = 1n): void {
    this.binding.eventfdWrite(fd, value);
  }

  /**
   * Sets or clears O_NONBLOCK, e.g. on an eventfd received from a peer that made it blocking.
   * @throws NativeError EBADF
   */
  setNonBlocking(fd: number, on = true): void {
    this.binding.setNonBlocking(fd, on);
  }

  /**
   * Creates anonymous shared memory of `size` bytes (memfd_create(2), MFD_CLOEXEC), to map here and send
   * to a peer.
   * @throws NativeError EMFILE, ENOMEM, …
   */
  memfd(name: string, size: number): number {
    return this.binding.memfdCreate(name, size);
  }

  /**
   * Watches `fd` on this thread's event loop (uv_poll): `callback` runs whenever one of `events`
   * (`POLL_READABLE | POLL_WRITABLE | POLL_DISCONNECT`) is ready, until {@link unwatch} or {@link close}.
   * Level-triggered: drain the fd or the callback runs again. Watching a watched fd replaces its events
   * and callback. A watch keeps the event loop alive.
   * @throws NativeError EBADF for a closed fd; EPERM for a regular file (epoll cannot watch one)
   */
  watch(fd: number, events: number, callback: WatchCallback): void {
    this.binding.watch(fd, events, callback);
  }

  /**
   * Stops watching `fd`; its callback is not called again.
   * @returns whether `fd` was watched
   */
  unwatch(fd: number): boolean {
    return this.binding.unwatch(fd);
  }

  /**
   * Closes `fd`, first dropping any watch on it (libuv must not poll a closed fd whose number the next
   * open may reuse). Close watched fds with this, not with `fs.closeSync`.
   * @throws NativeError EBADF
   */
  close(fd: number): void {
    this.binding.close(fd);
  }

  /** How many fds this process has open (/proc/self/fd): for leak tests. */
  openFdCount(): number {
    return this.binding.openFdCount();
  }

  /**
   * Maps `length` bytes of `fd` at `offset` (MAP_SHARED, PROT_READ | PROT_WRITE) into an ArrayBuffer:
   * writes through it reach the file and every other mapping of it, and the other way round. The mapping
   * is removed by {@link munmap}, or when the ArrayBuffer is garbage-collected. Each call makes a new
   * mapping; the fd may be closed afterwards.
   * @throws NativeError EINVAL for an offset that is not a multiple of {@link pageSize} or a length of 0;
   *   ENXIO when a regular file (or memfd) is shorter than offset + length; EBADF, EACCES, ENODEV, …
   * @throws RangeError when offset or length is negative or not an integer
   */
  mmap(fd: number, offset: bigint | number, length: number): ArrayBuffer {
    return this.binding.mmap(fd, offset, length);
  }

  /**
   * Unmaps an ArrayBuffer returned by {@link mmap} now: it is detached first, so it and every view on it
   * read as length 0 instead of touching unmapped memory.
   * @returns true if it was a live mapping; false if it was already released or is not a mapping
   */
  munmap(buffer: ArrayBuffer): boolean {
    return this.binding.munmap(buffer);
  }
}
