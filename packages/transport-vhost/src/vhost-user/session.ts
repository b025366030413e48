import {
  bit,
  VHOST_USER_CHECK_DEVICE_STATE,
  VHOST_USER_F_PROTOCOL_FEATURES,
  VHOST_USER_GET_CONFIG,
  VHOST_USER_GET_FEATURES,
  VHOST_USER_GET_PROTOCOL_FEATURES,
  VHOST_USER_GET_QUEUE_NUM,
  VHOST_USER_GET_STATUS,
  VHOST_USER_GET_VRING_BASE,
  VHOST_USER_IOTLB_MSG,
  VHOST_USER_MAX_CONFIG_SIZE,
  VHOST_USER_PROTOCOL_F_CONFIG,
  VHOST_USER_PROTOCOL_F_MQ,
  VHOST_USER_PROTOCOL_F_REPLY_ACK,
  VHOST_USER_PROTOCOL_F_STATUS,
  VHOST_USER_RESET_OWNER,
  VHOST_USER_SET_CONFIG,
  VHOST_USER_SET_DEVICE_STATE_FD,
  VHOST_USER_SET_FEATURES,
  VHOST_USER_SET_MEM_TABLE,
  VHOST_USER_SET_OWNER,
  VHOST_USER_SET_PROTOCOL_FEATURES,
  VHOST_USER_SET_STATUS,
  VHOST_USER_SET_VRING_ADDR,
  VHOST_USER_SET_VRING_BASE,
  VHOST_USER_SET_VRING_CALL,
  VHOST_USER_SET_VRING_ENABLE,
  VHOST_USER_SET_VRING_ERR,
  VHOST_USER_SET_VRING_KICK,
  VHOST_USER_SET_VRING_NUM,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_F_RING_PACKED,
  VIRTIO_F_VERSION_1,
  VIRTIO_STATUS_MAX,
  vringAvailSize,
  vringDescSize,
  vringUsedSize,
} from '@vdpa-kit/virtio-spec';
import {
  applyVhostUserAction,
  type VhostUserAction,
  type VhostUserBackend,
  type VhostUserRingAddresses,
} from './backend.js';
import { encodeVhostUserReply, type VhostUserPayload, type VhostUserVringAddrPayload } from './codec.js';
import { VhostUserError } from './errors.js';
import { VhostUserFramer, type VhostUserFrame } from './framer.js';
import { VhostUserMemoryTable, type VhostUserMemoryTableOptions } from './memory-table.js';
import { decodeVhostUserFrame, needsReply, type VhostUserMessage } from './message.js';
import { vhostUserRequestName, vhostUserRequestSpec } from './requests.js';

/** Options of a {@link VhostUserSession}. */
export interface VhostUserSessionOptions {
  /** Limits applied to every SET_MEM_TABLE. */
  readonly memory?: VhostUserMemoryTableOptions;
}

/** What the session did with one message (or one framing failure). */
export interface VhostUserStep {
  /** The request's name (`'request 99'` for an unknown id, `''` when no message was framed). */
  readonly request: string;
  /** Bytes to send back to the front-end, or `null`. */
  readonly reply: Uint8Array | null;
  /** Fds to send with the reply (none of the requests served replies with fds). */
  readonly replyFds: readonly number[];
  /** The backend calls made, in order. */
  readonly actions: readonly VhostUserAction[];
  /** Fds the caller must close now (replaced, refused, or all of them when the session closed). */
  readonly closeFds: readonly number[];
  /** Why the message was refused, or `null`. */
  readonly error: VhostUserError | null;
  /** Non-null when the connection must be closed: the reason. The session is then closed. */
  readonly close: string | null;
}

/** What {@link VhostUserSession.close} released. */
export interface VhostUserClosed {
  /** The reason given. */
  readonly reason: string;
  /** True when bytes of an incomplete message were buffered: the peer left mid-message. */
  readonly midMessage: boolean;
  /** Backend calls made while closing (rings stopped, reset). */
  readonly actions: readonly VhostUserAction[];
  /** Every fd the session held: memory regions, kick, call, and those of an incomplete message. */
  readonly closeFds: readonly number[];
}

interface RingState {
  num: number | null;
  base: number;
  /** Base captured when the ring last stopped; GET_VRING_BASE of a stopped ring answers it. */
  stoppedBase: number | null;
  addr: VhostUserVringAddrPayload | null;
  addresses: VhostUserRingAddresses | null;
  kickFd: number | null;
  callFd: number | null;
  started: boolean;
  enabled: boolean;
  running: boolean;
}

/** Requests whose required `u64` reply is a status: an error is a non-zero reply. */
const VU_STATUS_REPLIES: ReadonlySet<number> = new Set([
  VHOST_USER_IOTLB_MSG,
  VHOST_USER_SET_DEVICE_STATE_FD,
  VHOST_USER_CHECK_DEVICE_STATE,
]);

/** The status a driver has reached once it runs the device (virtio 1.2 §3.1.1). */
const DRIVER_READY =
  VIRTIO_CONFIG_S_ACKNOWLEDGE |
  VIRTIO_CONFIG_S_DRIVER |
  VIRTIO_CONFIG_S_FEATURES_OK |
  VIRTIO_CONFIG_S_DRIVER_OK;

const REPLY_ACK_OK: VhostUserPayload = { kind: 'u64', value: 0n };
const REPLY_ACK_FAILED: VhostUserPayload = { kind: 'u64', value: 1n };

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * One vhost-user connection, back-end side (vhost-user.rst; the state machine of DPDK
 * `vhost_user_msg_handler()` and libvhost-user `vu_dispatch()`), without sockets: bytes and received
 * fd numbers in ({@link receive}), reply bytes, backend calls and fds to close out ({@link VhostUserStep}).
 *
 * Offers: virtio features = the backend's | `VERSION_1` | `VHOST_USER_F_PROTOCOL_FEATURES`; protocol
 * features `MQ | REPLY_ACK | STATUS`, plus `CONFIG` when the backend owns config space.
 *
 * Rings (vhost-user.rst "Starting and stopping rings"): a ring is started by SET_VRING_KICK and
 * stopped by GET_VRING_BASE (or status 0); with `PROTOCOL_FEATURES` acked it also needs
 * SET_VRING_ENABLE 1, without it it is enabled at once. The backend's ring enable follows
 * started && enabled && addresses known.
 *
 * Errors: a framing error closes the connection; a refused message gets an error reply where the
 * protocol has one (NEED_REPLY set: `u64` 1; IOTLB_MSG: `u64` 1; GET_CONFIG: an empty payload) and
 * otherwise closes the connection, as DPDK does. The fds of a refused message are returned to close.
 * NEED_REPLY is answered whether or not `REPLY_ACK` was negotiated, as DPDK and libvhost-user do.
 *
 * @example
 * const session = new VhostUserSession(backend);
 * for (const step of session.receive(bytes, fds)) {
 *   if (step.reply) send(step.reply, step.replyFds);
 *   step.closeFds.forEach(closeFd);
 *   if (step.close) hangUp(step.close);
 * }
 */
export class VhostUserSession {
  private readonly framer = new VhostUserFramer();
  private readonly rings: RingState[] = [];
  private table: VhostUserMemoryTable | null = null;
  private ackedFeatures: bigint | null = null;
  private ackedProtocolFeatures = 0n;
  private closed = false;
  /** True once the session set DRIVER_OK itself for a front-end without STATUS. */
  private statusDriven = false;
  private actions: VhostUserAction[] = [];
  /** Fds released while handling the current message (a replaced kick, call or memory table). */
  private readonly replaced: number[] = [];
  /** Fds of the current message the session kept (they are no longer the message's to close). */
  private readonly adopted = new Set<number>();

  /**
   * @param backend the layer below
   * @param options limits
   */
  constructor(
    private readonly backend: VhostUserBackend,
    private readonly options: VhostUserSessionOptions = {},
  ) {}

  /** The protocol features this session offers in GET_PROTOCOL_FEATURES. */
  get offeredProtocolFeatures(): bigint {
    let features =
      bit(VHOST_USER_PROTOCOL_F_MQ) |
      bit(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
      bit(VHOST_USER_PROTOCOL_F_STATUS);
    if (this.backend.configSize > 0) features |= bit(VHOST_USER_PROTOCOL_F_CONFIG);
    return features;
  }

  /** The protocol features the front-end acked (0 before SET_PROTOCOL_FEATURES). */
  get protocolFeatures(): bigint {
    return this.ackedProtocolFeatures;
  }

  /** The virtio features the front-end acked, `PROTOCOL_FEATURES` included, or `null` before SET_FEATURES. */
  get features(): bigint | null {
    return this.ackedFeatures;
  }

  /** The current memory table, or `null` before SET_MEM_TABLE. */
  get memoryTable(): VhostUserMemoryTable | null {
    return this.table;
  }

  /** True once the session closed (after a fatal error or {@link close}). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Indices of the rings the backend currently runs. */
  runningRings(): number[] {
    return this.rings.flatMap((r, i) => (r?.running ? [i] : []));
  }

  /**
   * Feeds bytes received from the front-end and handles every message they complete.
   *
   * @param chunk bytes as received
   * @param fds fd numbers received with them (the session owns them from now on)
   * @returns one step per message (or framing failure); after a step with `close` set the session is
   *   closed and later input is refused with `SESSION_CLOSED` and its fds returned for closing
   */
  receive(chunk: Uint8Array, fds: readonly number[] = []): VhostUserStep[] {
    if (this.closed) {
      const error = new VhostUserError('SESSION_CLOSED', '', 'the session is closed');
      return [this.step('', null, [...fds], error, error.message)];
    }
    const { frames, error } = this.framer.push(chunk, fds);
    const steps: VhostUserStep[] = [];
    for (let i = 0; i < frames.length; i++) {
      const step = this.handleFrame(frames[i]!);
      steps.push(step);
      if (step.close !== null) {
        // Messages after the fatal one are dropped unread; their fds are closed with the rest.
        const rest = frames.slice(i + 1).flatMap((f) => f.fds);
        steps[steps.length - 1] = {
          ...step,
          closeFds: [...step.closeFds, ...rest, ...this.framer.heldFds()],
        };
        return steps;
      }
    }
    if (error !== null) steps.push(this.closeStep(error.request, error, []));
    return steps;
  }

  /**
   * Closes the session: stops the running rings, resets the backend, and returns every fd it held
   * (memory regions, kick, call, and those of a message not yet complete) for the caller to close.
   * Call it when the peer disconnects; a second call returns nothing.
   *
   * @param reason why (for the log), e.g. `'peer disconnected'`
   */
  close(reason: string): VhostUserClosed {
    if (this.closed) return { reason, midMessage: false, actions: [], closeFds: [] };
    const midMessage = this.framer.partial;
    this.actions = [];
    const closeFds = this.releaseAll(true);
    this.closed = true;
    return { reason, midMessage, actions: this.takeActions(), closeFds };
  }

  private step(
    request: string,
    reply: Uint8Array | null,
    closeFds: number[],
    error: VhostUserError | null,
    close: string | null,
  ): VhostUserStep {
    return { request, reply, replyFds: [], actions: this.takeActions(), closeFds, error, close };
  }

  private takeActions(): VhostUserAction[] {
    const taken = this.actions;
    this.actions = [];
    return taken;
  }

  /** Stops rings, resets the backend (errors ignored: the peer is gone) and collects every held fd. */
  private releaseAll(withFramer: boolean): number[] {
    const fds: number[] = [];
    this.rings.forEach((ring, index) => {
      if (ring === undefined) return;
      if (ring.running) {
        this.tryApply({ type: 'set-vring-enable', index, enabled: false });
        ring.running = false;
      }
      if (ring.kickFd !== null) fds.push(ring.kickFd);
      if (ring.callFd !== null) fds.push(ring.callFd);
    });
    this.rings.length = 0;
    this.tryApply({ type: 'reset' });
    if (this.table !== null) fds.push(...this.table.fds);
    this.table = null;
    this.ackedFeatures = null;
    this.ackedProtocolFeatures = 0n;
    this.statusDriven = false;
    if (withFramer) fds.push(...this.framer.heldFds());
    return fds;
  }

  private tryApply(action: VhostUserAction): void {
    try {
      this.apply(action);
    } catch {
      // Closing must finish whatever the backend says; the action stays recorded.
    }
  }

  private apply(action: VhostUserAction): void {
    this.actions.push(action);
    applyVhostUserAction(this.backend, action);
  }

  private closeStep(request: string, error: VhostUserError, messageFds: readonly number[]): VhostUserStep {
    const held = this.releaseAll(true);
    this.closed = true;
    return this.step(request, null, [...messageFds, ...held], error, error.message);
  }

  private handleFrame(frame: VhostUserFrame): VhostUserStep {
    const id = frame.header.request;
    const name = vhostUserRequestName(id);
    let message: VhostUserMessage;
    try {
      message = decodeVhostUserFrame(frame);
    } catch (err) {
      return this.refuse(id, frame.header.flags, frame.fds, this.asError(err, name));
    }
    this.adopted.clear();
    try {
      const reply = this.handle(message);
      const bytes =
        reply !== null
          ? encodeVhostUserReply(id, reply)
          : needsReply(message.flags)
            ? encodeVhostUserReply(id, REPLY_ACK_OK)
            : null;
      return this.step(name, bytes, this.replaced.splice(0), null, null);
    } catch (err) {
      // Fds the session already took, or released for a replacement, are accounted for apart.
      const unadopted = message.fds.filter((fd) => !this.adopted.has(fd));
      return this.refuse(
        id,
        message.flags,
        [...unadopted, ...this.replaced.splice(0)],
        this.asError(err, name),
      );
    }
  }

  private asError(err: unknown, request: string): VhostUserError {
    if (err instanceof VhostUserError) {
      return err.request === request
        ? err
        : new VhostUserError(err.code, request, err.detail, { cause: err });
    }
    return new VhostUserError('BACKEND_FAILED', request, describe(err), { cause: err });
  }

  /** An error reply where the protocol has one, else a closed connection (DPDK's rule). */
  private refuse(id: number, flags: number, fds: readonly number[], error: VhostUserError): VhostUserStep {
    const spec = vhostUserRequestSpec(id);
    let reply: VhostUserPayload | null = null;
    if (VU_STATUS_REPLIES.has(id)) reply = REPLY_ACK_FAILED;
    else if (id === VHOST_USER_GET_CONFIG) reply = { kind: 'opaque', bytes: new Uint8Array(0) };
    else if ((spec === undefined || spec.reply === 'none') && needsReply(flags)) reply = REPLY_ACK_FAILED;
    if (reply === null) return this.closeStep(error.request, error, fds);
    return this.step(error.request, encodeVhostUserReply(id, reply), [...fds], error, null);
  }

  private ring(index: number, request: string): RingState {
    if (index >= this.backend.numVrings) {
      throw new VhostUserError(
        'QUEUE_OUT_OF_RANGE',
        request,
        `vring index ${index} is out of range (${this.backend.numVrings} rings)`,
      );
    }
    let ring = this.rings[index];
    if (ring === undefined) {
      ring = {
        num: null,
        base: 0,
        stoppedBase: null,
        addr: null,
        addresses: null,
        kickFd: null,
        callFd: null,
        started: false,
        enabled: false,
        running: false,
      };
      this.rings[index] = ring;
    }
    return ring;
  }

  private offeredFeatures(): bigint {
    return this.backend.getFeatures() | bit(VIRTIO_F_VERSION_1) | bit(VHOST_USER_F_PROTOCOL_FEATURES);
  }

  private protocolFeaturesAcked(): boolean {
    return this.ackedFeatures !== null && (this.ackedFeatures & bit(VHOST_USER_F_PROTOCOL_FEATURES)) !== 0n;
  }

  /** Brings the backend's ring enable in line with started && enabled && addresses known. */
  private sync(index: number): void {
    const ring = this.rings[index];
    if (ring === undefined) return;
    const enabled = this.protocolFeaturesAcked() ? ring.enabled : true;
    const want = ring.started && enabled && ring.addresses !== null;
    if (want === ring.running) return;
    this.apply({ type: 'set-vring-enable', index, enabled: want });
    ring.running = want;
    if (
      want &&
      !this.statusDriven &&
      (this.ackedProtocolFeatures & bit(VHOST_USER_PROTOCOL_F_STATUS)) === 0n
    ) {
      // A front-end without STATUS never sets DRIVER_OK, which a vDPA device needs to run: the first
      // running ring stands for it, as DPDK configures a vDPA device once its rings are ready
      // (vhost_user_msg_handler(): dev_conf).
      this.statusDriven = true;
      this.apply({ type: 'set-status', status: DRIVER_READY });
    }
  }

  /** Stops a started ring and captures its base (GET_VRING_BASE, status 0). */
  private stop(index: number): number {
    const ring = this.rings[index]!;
    if (!ring.started) return ring.stoppedBase ?? ring.base;
    ring.started = false;
    this.sync(index);
    const base = this.backend.getVringBase(index);
    ring.stoppedBase = base;
    return base;
  }

  /** Ring addresses translated from front-end virtual to guest-physical over the whole ring. */
  private translate(addr: VhostUserVringAddrPayload, num: number | null): VhostUserRingAddresses {
    const table = this.table!;
    const n = num ?? 1;
    // A packed ring's driver and device areas are event suppression structures, not split rings:
    // only their first byte is checked (virtio 1.2 §2.8.10).
    const packed = this.ackedFeatures !== null && (this.ackedFeatures & bit(VIRTIO_F_RING_PACKED)) !== 0n;
    return {
      desc: table.uvaToGpa(addr.desc, vringDescSize(n)),
      avail: table.uvaToGpa(addr.avail, packed ? 1 : vringAvailSize(n)),
      used: table.uvaToGpa(addr.used, packed ? 1 : vringUsedSize(n)),
    };
  }

  private configRange(offset: number, size: number, request: string): void {
    const limit = Math.min(this.backend.configSize, VHOST_USER_MAX_CONFIG_SIZE);
    if (this.backend.configSize === 0) {
      throw new VhostUserError('UNSUPPORTED_REQUEST', request, 'the device does not own config space');
    }
    if (offset + size > this.backend.configSize || size > limit) {
      throw new VhostUserError(
        'BAD_CONFIG_ACCESS',
        request,
        `config access of ${size} bytes at ${offset} is outside the ${this.backend.configSize}-byte config space`,
      );
    }
  }

  /** Handles a valid message; returns the required reply payload or `null`. */
  private handle(message: VhostUserMessage): VhostUserPayload | null {
    const { spec, payload, fds } = message;
    const name = spec.name;
    switch (spec.id) {
      case VHOST_USER_GET_FEATURES:
        return { kind: 'u64', value: this.offeredFeatures() };
      case VHOST_USER_SET_FEATURES: {
        const features = payload.kind === 'u64' ? payload.value : 0n;
        const offered = this.offeredFeatures();
        if ((features & ~offered) !== 0n) {
          throw new VhostUserError(
            'BAD_FEATURES',
            name,
            `features 0x${features.toString(16)} are not a subset of the offered 0x${offered.toString(16)}`,
          );
        }
        this.apply({ type: 'set-features', features: features & ~bit(VHOST_USER_F_PROTOCOL_FEATURES) });
        this.ackedFeatures = features;
        this.rings.forEach((_, i) => this.sync(i));
        return null;
      }
      case VHOST_USER_SET_OWNER:
        return null;
      case VHOST_USER_RESET_OWNER:
        this.replaced.push(...this.releaseAll(false));
        return null;
      case VHOST_USER_GET_PROTOCOL_FEATURES:
        return { kind: 'u64', value: this.offeredProtocolFeatures };
      case VHOST_USER_SET_PROTOCOL_FEATURES: {
        const features = payload.kind === 'u64' ? payload.value : 0n;
        const offered = this.offeredProtocolFeatures;
        if ((features & ~offered) !== 0n) {
          throw new VhostUserError(
            'BAD_FEATURES',
            name,
            `protocol features 0x${features.toString(16)} are not a subset of the offered 0x${offered.toString(16)}`,
          );
        }
        this.ackedProtocolFeatures = features;
        return null;
      }
      case VHOST_USER_GET_QUEUE_NUM:
        return { kind: 'u64', value: BigInt(this.backend.queueNum) };
      case VHOST_USER_SET_MEM_TABLE: {
        if (payload.kind !== 'memory-table') return null;
        const table = VhostUserMemoryTable.fromWire(payload.regions, fds, this.options.memory);
        this.apply({ type: 'set-mem-table', table });
        const old = this.table;
        this.table = table;
        fds.forEach((fd) => this.adopted.add(fd));
        if (old !== null) this.replaced.push(...old.fds);
        // Addresses given before (or under another table) are translated again; a ring whose
        // addresses no longer translate stops running until SET_VRING_ADDR fixes them.
        this.rings.forEach((ring, index) => {
          if (ring?.addr == null) return;
          let addresses: VhostUserRingAddresses | null = null;
          try {
            addresses = this.translate(ring.addr, ring.num);
            this.apply({ type: 'set-vring-addr', index, addresses });
          } catch {
            addresses = null;
          }
          ring.addresses = addresses;
          this.sync(index);
        });
        return null;
      }
      case VHOST_USER_SET_VRING_NUM: {
        if (payload.kind !== 'vring-state') return null;
        const ring = this.ring(payload.index, name);
        this.apply({ type: 'set-vring-num', index: payload.index, num: payload.num });
        ring.num = payload.num;
        return null;
      }
      case VHOST_USER_SET_VRING_ADDR: {
        if (payload.kind !== 'vring-addr') return null;
        const ring = this.ring(payload.index, name);
        if (this.table === null) {
          // DPDK translates lazily too: the addresses are applied when the memory table arrives.
          ring.addr = payload;
          ring.addresses = null;
          this.sync(payload.index);
          return null;
        }
        const addresses = this.translate(payload, ring.num);
        this.apply({ type: 'set-vring-addr', index: payload.index, addresses });
        ring.addr = payload;
        ring.addresses = addresses;
        this.sync(payload.index);
        return null;
      }
      case VHOST_USER_SET_VRING_BASE: {
        if (payload.kind !== 'vring-state') return null;
        const ring = this.ring(payload.index, name);
        this.apply({ type: 'set-vring-base', index: payload.index, base: payload.num });
        ring.base = payload.num;
        ring.stoppedBase = null;
        return null;
      }
      case VHOST_USER_GET_VRING_BASE: {
        if (payload.kind !== 'vring-state') return null;
        this.ring(payload.index, name);
        return { kind: 'vring-state', index: payload.index, num: this.stop(payload.index) };
      }
      case VHOST_USER_SET_VRING_KICK:
      case VHOST_USER_SET_VRING_CALL: {
        if (payload.kind !== 'vring-file') return null;
        const ring = this.ring(payload.index, name);
        const fd = payload.noFd ? null : fds[0]!;
        if (spec.id === VHOST_USER_SET_VRING_KICK) {
          this.apply({ type: 'set-vring-kick', index: payload.index, fd });
          if (ring.kickFd !== null) this.replaced.push(ring.kickFd);
          ring.kickFd = fd;
          if (fd !== null) this.adopted.add(fd);
          ring.started = true;
          this.sync(payload.index);
        } else {
          this.apply({ type: 'set-vring-call', index: payload.index, fd });
          if (ring.callFd !== null) this.replaced.push(ring.callFd);
          ring.callFd = fd;
          if (fd !== null) this.adopted.add(fd);
        }
        return null;
      }
      case VHOST_USER_SET_VRING_ERR:
        if (payload.kind !== 'vring-file') return null;
        this.ring(payload.index, name);
        // Nothing reports ring errors here: the fd is not kept.
        this.replaced.push(...fds);
        fds.forEach((fd) => this.adopted.add(fd));
        return null;
      case VHOST_USER_SET_VRING_ENABLE: {
        if (payload.kind !== 'vring-state') return null;
        const ring = this.ring(payload.index, name);
        if (payload.num > 1) {
          throw new VhostUserError('BAD_PAYLOAD', name, `enable value ${payload.num} is neither 0 nor 1`);
        }
        ring.enabled = payload.num === 1;
        this.sync(payload.index);
        return null;
      }
      case VHOST_USER_GET_CONFIG: {
        if (payload.kind !== 'config') return null;
        this.configRange(payload.offset, payload.size, name);
        const data = this.backend.getConfig(payload.offset, payload.size);
        if (data.byteLength !== payload.size) {
          throw new VhostUserError(
            'BACKEND_FAILED',
            name,
            `the device returned ${data.byteLength} config bytes for ${payload.size}`,
          );
        }
        return {
          kind: 'config',
          offset: payload.offset,
          size: payload.size,
          flags: payload.flags,
          payload: data,
        };
      }
      case VHOST_USER_SET_CONFIG: {
        if (payload.kind !== 'config') return null;
        this.configRange(payload.offset, payload.size, name);
        this.apply({ type: 'set-config', offset: payload.offset, data: payload.payload });
        return null;
      }
      case VHOST_USER_SET_STATUS: {
        const value = payload.kind === 'u64' ? payload.value : 0n;
        if (value > BigInt(VIRTIO_STATUS_MAX)) {
          throw new VhostUserError('BAD_PAYLOAD', name, `status 0x${value.toString(16)} exceeds a byte`);
        }
        const status = Number(value);
        if (status === 0) {
          // A reset loses the rings' state, and QEMU asks for the bases after it: stop and keep them.
          this.rings.forEach((_, i) => this.stop(i));
        }
        this.apply({ type: 'set-status', status });
        return null;
      }
      case VHOST_USER_GET_STATUS:
        return { kind: 'u64', value: BigInt(this.backend.getStatus()) };
      default:
        throw new VhostUserError('UNSUPPORTED_REQUEST', name, 'request not supported by this back-end');
    }
  }
}
