import { lstatSync, unlinkSync } from 'node:fs';
import { type Logger, nullLogger } from '@vdpa-kit/core-bus';
import { NativeError, POLL_DISCONNECT, POLL_READABLE, type NativeVhost } from '@vdpa-kit/native-vhost';
import { VHOST_MEMORY_BASELINE_NREGIONS, VHOST_USER_HDR_SIZE } from '@vdpa-kit/virtio-spec';
import type { GuestMemory } from '@vdpa-kit/vring';
import { BehaviorSubject, type Observable } from 'rxjs';
import type { VhostVdpaDevice } from '../../vhost-vdpa-device.js';
import { VhostUserSession, type VhostUserSessionOptions } from '../session.js';
import { VhostUserVdpaBackend } from './vdpa-backend.js';

/** Offset of the header's `size` field (vhost-user.rst "Header"). */
const HDR_SIZE_OFFSET = 8;
/** First reconnect delay in client mode. */
const DEFAULT_RECONNECT_MIN_MS = 100;
/** Longest reconnect delay in client mode. */
const DEFAULT_RECONNECT_MAX_MS = 5000;

/** What a {@link VhostUserServer} serves and how. */
export interface VhostUserServerOptions {
  /** The addon. */
  readonly native: NativeVhost;
  /** Opens the device's vhost-vdpa file (`VhostBus.open(device)`); called once per connection. */
  readonly open: () => VhostVdpaDevice;
  /** The stack's `GuestMemory` (`GUEST_MEMORY`). */
  readonly mem: GuestMemory;
  /** The vDPA device name (for logs and status). */
  readonly device: string;
  /** The Unix socket path. */
  readonly socket: string;
  /** Connect to a listening front-end instead of listening (DPDK `server=1`, QEMU `server=on`). */
  readonly client?: boolean;
  /** Mode of the listening socket's file; default 0o600. */
  readonly mode?: number;
  /** Client mode: first and longest delay between connection attempts (doubling), in ms. */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /** Limits of the protocol session. */
  readonly session?: VhostUserSessionOptions;
  readonly logger?: Logger;
}

/** A {@link VhostUserServer}'s state, for status lines. */
export interface VhostUserServerStatus {
  readonly device: string;
  readonly socket: string;
  readonly mode: 'listen' | 'client';
  /** `'stopped'`, `'waiting'` (listening or between attempts), `'connected'`. */
  readonly state: 'stopped' | 'waiting' | 'connected';
  /** Connections served so far. */
  readonly connections: number;
  /** The acked virtio features of the current connection (`PROTOCOL_FEATURES` included), or null. */
  readonly features: bigint | null;
  /** The acked protocol features of the current connection. */
  readonly protocolFeatures: bigint;
  /** Rings the device runs now. */
  readonly runningRings: readonly number[];
  /** Why the last connection ended (or failed), or null. */
  readonly lastClose: string | null;
}

interface Connection {
  readonly fd: number;
  readonly session: VhostUserSession;
  readonly backend: VhostUserVdpaBackend;
  /** The header being read, and how much of it is here. */
  readonly header: Uint8Array;
  headerHave: number;
  /** Payload bytes of the current message still to read. */
  payloadLeft: number;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Serves one vDPA device to one vhost-user front-end at a time over a Unix socket: listening (the
 * default, mode 0600) or connecting with back-off (`client`). Each connection gets a fresh
 * {@link VhostUserSession} over a {@link VhostUserVdpaBackend} (the device's vhost-vdpa file is open
 * exactly while a front-end is connected); messages are read with `recvmsg` (fds and all) and replies
 * sent with `sendmsg`.
 *
 * Bad peer input never escapes: a refused message is logged and answered or the connection is closed
 * (the session's rule), a peer that sends more than 8 fds, disconnects mid-message or makes any call
 * fail is logged and dropped; every fd of a connection is closed when it ends. A second front-end
 * while one is connected is refused (closed at once), as a vhost-user back-end serves one front-end.
 * A device that leaves `vhost_vdpa` while served (unbind, `dev del`) drops its connection; later
 * front-ends are refused until it is bound again.
 *
 * @example
 * const server = new VhostUserServer({ native, mem, device: 'vdpa0', socket: '/tmp/vdpa0.sock',
 *   open: () => vhostBus.open('vdpa0'), logger });
 * server.start();
 * // …
 * server.stop(); // connection dropped, socket file removed
 */
export class VhostUserServer {
  /** The status now and after every change (connect, message, disconnect). */
  readonly status$: Observable<VhostUserServerStatus>;
  private readonly logger: Logger;
  private readonly statusSubject: BehaviorSubject<VhostUserServerStatus>;
  private listenFd: number | null = null;
  private conn: Connection | null = null;
  private running = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private delay: number;
  private connections = 0;
  private lastClose: string | null = null;

  constructor(private readonly options: VhostUserServerOptions) {
    this.logger = options.logger ?? nullLogger;
    this.delay = options.reconnectMinMs ?? DEFAULT_RECONNECT_MIN_MS;
    this.statusSubject = new BehaviorSubject(this.snapshot());
    this.status$ = this.statusSubject.asObservable();
  }

  /** The status now. */
  get status(): VhostUserServerStatus {
    return this.statusSubject.value;
  }

  /**
   * Starts listening (a stale socket file nobody listens on is removed first) or connecting.
   * @throws NativeError `EADDRINUSE` when something listens on the path already; the listen's errors
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.options.client === true) {
      this.attempt();
    } else {
      this.removeStale();
      try {
        this.listenFd = this.options.native.listen(this.options.socket, { mode: this.options.mode });
      } catch (err) {
        this.running = false;
        throw err;
      }
      this.options.native.watch(this.listenFd, POLL_READABLE, () => this.guard(() => this.acceptAll()));
      this.logger.info('vhost-user listening', { dev: this.options.device, socket: this.options.socket });
    }
    this.changed();
  }

  /** Drops the connection (rings stopped, fds closed), stops listening and removes the socket file. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.conn !== null) this.drop(this.conn, 'server stopped');
    if (this.listenFd !== null) {
      this.options.native.close(this.listenFd);
      this.listenFd = null;
      try {
        unlinkSync(this.options.socket);
      } catch {
        // Already gone: nothing to remove.
      }
    }
    this.changed();
  }

  private removeStale(): void {
    const path = this.options.socket;
    let isSocket = false;
    try {
      isSocket = lstatSync(path).isSocket();
    } catch {
      return;
    }
    if (!isSocket) return;
    let probe: number | null = null;
    try {
      probe = this.options.native.connect(path);
    } catch {
      unlinkSync(path);
      this.logger.warn('removed a stale vhost-user socket', { socket: path });
      return;
    }
    this.options.native.close(probe);
    throw new NativeError(`listen on ${path}: something already listens there`, 'EADDRINUSE', 'listen', 98);
  }

  private acceptAll(): void {
    const native = this.options.native;
    for (;;) {
      if (this.listenFd === null) return;
      const fd = native.accept(this.listenFd);
      if (fd === null) return;
      if (this.conn !== null) {
        this.logger.warn('vhost-user connection refused: a front-end is connected already', {
          dev: this.options.device,
        });
        native.close(fd);
        continue;
      }
      this.attach(fd);
    }
  }

  private attempt(): void {
    this.timer = null;
    if (!this.running || this.conn !== null) return;
    let fd: number;
    try {
      fd = this.options.native.connect(this.options.socket);
    } catch (err) {
      this.lastClose = `connect: ${describe(err)}`;
      this.retry();
      return;
    }
    this.delay = this.options.reconnectMinMs ?? DEFAULT_RECONNECT_MIN_MS;
    this.attach(fd);
  }

  private retry(): void {
    if (!this.running || this.options.client !== true || this.timer !== null) return;
    const delay = this.delay;
    this.delay = Math.min(delay * 2, this.options.reconnectMaxMs ?? DEFAULT_RECONNECT_MAX_MS);
    this.timer = setTimeout(() => this.attempt(), delay);
    this.changed();
  }

  private attach(fd: number): void {
    const native = this.options.native;
    let backend: VhostUserVdpaBackend;
    // The device left vhost_vdpa (unbind, dev del) under the open file: the connection goes, after the
    // bus call that removed it has returned.
    const onRemoved = (): void => {
      queueMicrotask(() => {
        const current = this.conn;
        if (current !== null && current.backend === backend) {
          this.guard(() => this.drop(current, 'device removed from vhost_vdpa', true), current);
        }
      });
    };
    try {
      backend = new VhostUserVdpaBackend({
        native,
        mem: this.options.mem,
        open: this.options.open,
        onRemoved,
      });
    } catch (err) {
      this.lastClose = `cannot open ${this.options.device}: ${describe(err)}`;
      this.logger.error('vhost-user connection refused', { dev: this.options.device, error: describe(err) });
      native.close(fd);
      this.retry();
      this.changed();
      return;
    }
    const conn: Connection = {
      fd,
      session: new VhostUserSession(backend, this.options.session),
      backend,
      header: new Uint8Array(VHOST_USER_HDR_SIZE),
      headerHave: 0,
      payloadLeft: 0,
    };
    this.conn = conn;
    this.connections++;
    this.logger.info('vhost-user front-end connected', { dev: this.options.device });
    native.watch(fd, POLL_READABLE | POLL_DISCONNECT, (error) =>
      this.guard(() => {
        if (error !== undefined) this.drop(conn, `socket error: ${error.message}`);
        else this.readAll(conn);
      }, conn),
    );
    this.changed();
  }

  /** Runs a watch callback; whatever it throws drops the connection instead of the process. */
  private guard(fn: () => void, conn?: Connection): void {
    try {
      fn();
    } catch (err) {
      this.logger.error('vhost-user server error', { dev: this.options.device, error: describe(err) });
      if (conn !== undefined && this.conn === conn) this.drop(conn, `internal error: ${describe(err)}`);
    }
  }

  private readAll(conn: Connection): void {
    const native = this.options.native;
    while (this.conn === conn) {
      // Reads stop at message boundaries, as DPDK's read_vhost_message() reads the header and then the
      // payload: a Unix stream socket glues the bytes of a later sendmsg() (and its fds) onto a read
      // that asks for more (unix_stream_read_generic()), and the fds must arrive with their header.
      const want = conn.payloadLeft > 0 ? conn.payloadLeft : VHOST_USER_HDR_SIZE - conn.headerHave;
      let msg;
      try {
        msg = native.recvmsg(conn.fd, want, VHOST_MEMORY_BASELINE_NREGIONS);
      } catch (err) {
        const tooMany = err instanceof NativeError && err.code === 'EMSGSIZE';
        this.drop(
          conn,
          tooMany
            ? `more than ${VHOST_MEMORY_BASELINE_NREGIONS} fds on one message`
            : `recvmsg: ${describe(err)}`,
          true,
        );
        return;
      }
      if (msg === null) break;
      if (msg.eof) {
        this.drop(conn, 'peer disconnected');
        return;
      }
      this.advance(conn, msg.bytes);
      for (const step of conn.session.receive(msg.bytes, msg.fds)) {
        if (step.error !== null) {
          this.logger.error('vhost-user request refused', {
            dev: this.options.device,
            request: step.request,
            code: step.error.code,
            error: step.error.message,
          });
        }
        for (const fd of step.closeFds) this.closeFd(fd);
        if (step.reply !== null && !this.send(conn, step.reply, step.replyFds)) return;
        if (step.close !== null) {
          this.drop(conn, step.close, true);
          return;
        }
      }
    }
    this.changed();
  }

  /** Tracks where the stream is: in a header (how far) or in a payload (how much is left). */
  private advance(conn: Connection, bytes: Uint8Array): void {
    if (conn.payloadLeft > 0) {
      conn.payloadLeft -= bytes.byteLength;
      return;
    }
    conn.header.set(bytes, conn.headerHave);
    conn.headerHave += bytes.byteLength;
    if (conn.headerHave < VHOST_USER_HDR_SIZE) return;
    conn.headerHave = 0;
    // An oversized `size` is the framer's to refuse; the connection closes before it is read.
    conn.payloadLeft = new DataView(conn.header.buffer).getUint32(HDR_SIZE_OFFSET, true);
  }

  /** Sends a whole reply; a failure (peer gone, buffer full) drops the connection. */
  private send(conn: Connection, bytes: Uint8Array, fds: readonly number[]): boolean {
    let at = 0;
    try {
      while (at < bytes.byteLength) {
        at += this.options.native.sendmsg(conn.fd, bytes.subarray(at), at === 0 ? fds : []);
      }
      return true;
    } catch (err) {
      this.drop(conn, `sendmsg: ${describe(err)}`, true);
      return false;
    }
  }

  private drop(conn: Connection, reason: string, error = false): void {
    if (this.conn !== conn) return;
    this.conn = null;
    const closed = conn.session.close(reason);
    for (const fd of closed.closeFds) this.closeFd(fd);
    try {
      conn.backend.dispose();
    } catch (err) {
      this.logger.error('vhost-user device release failed', {
        dev: this.options.device,
        error: describe(err),
      });
    }
    this.closeFd(conn.fd);
    const why = closed.midMessage ? `${reason} (mid-message)` : reason;
    this.lastClose = why;
    if (error || closed.midMessage) {
      this.logger.error('vhost-user connection closed', { dev: this.options.device, reason: why });
    } else {
      this.logger.info('vhost-user connection closed', { dev: this.options.device, reason: why });
    }
    this.retry();
    this.changed();
  }

  private closeFd(fd: number): void {
    try {
      this.options.native.close(fd);
    } catch (err) {
      this.logger.warn('close failed', { fd, error: describe(err) });
    }
  }

  private snapshot(): VhostUserServerStatus {
    const conn = this.conn;
    return {
      device: this.options.device,
      socket: this.options.socket,
      mode: this.options.client === true ? 'client' : 'listen',
      state: !this.running ? 'stopped' : conn !== null ? 'connected' : 'waiting',
      connections: this.connections,
      features: conn?.session.features ?? null,
      protocolFeatures: conn?.session.protocolFeatures ?? 0n,
      runningRings: conn?.session.runningRings() ?? [],
      lastClose: this.lastClose,
    };
  }

  private changed(): void {
    this.statusSubject.next(this.snapshot());
  }
}
