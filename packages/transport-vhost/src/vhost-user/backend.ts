import { type VhostUserMemoryTable } from './memory-table.js';

/**
 * Guest-physical addresses of a ring's three parts, translated by the session from the front-end
 * virtual addresses SET_VRING_ADDR carries (vhost-user.rst "Vring address description").
 */
export interface VhostUserRingAddresses {
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
}

/**
 * The layer below a vhost-user session: one device as the `vhost_vdpa` ioctls see it
 * (include/uapi/linux/vhost.h). The session validates every peer value before calling it, keeps the
 * vhost-user-only state itself (protocol features, ring started/enabled, the fds) and calls these
 * methods synchronously, in message order. A method that refuses throws (a `VdpaError` from the
 * vhost-vdpa layer); the session turns that into an error reply or a closed connection.
 *
 * Fds passed in are borrowed: the session owns and closes them, after telling the backend it has a
 * replacement (or `null`).
 */
export interface VhostUserBackend {
  /** Rings the front-end may address (index 0 … `numVrings - 1`); larger indices are refused. */
  readonly numVrings: number;
  /** GET_QUEUE_NUM's answer: for a net device the queue pairs (QEMU compares it with `queues=`). */
  readonly queueNum: number;
  /**
   * Bytes of device config space the back-end owns, or 0: with a non-zero size the session offers
   * `VHOST_USER_PROTOCOL_F_CONFIG` and serves GET_CONFIG / SET_CONFIG within it.
   */
  readonly configSize: number;
  /** The device's feature bits to offer (`VHOST_GET_FEATURES`); the session adds `PROTOCOL_FEATURES`. */
  getFeatures(): bigint;
  /** The acked features, `VHOST_USER_F_PROTOCOL_FEATURES` removed (`VHOST_SET_FEATURES`). */
  setFeatures(features: bigint): void;
  /** The device status byte (`VHOST_VDPA_GET_STATUS`). */
  getStatus(): number;
  /** Sets the device status byte; 0 resets the device (`VHOST_VDPA_SET_STATUS`). */
  setStatus(status: number): void;
  /** Reads `size` bytes of config space at `offset`, already bounds-checked (`VHOST_VDPA_GET_CONFIG`). */
  getConfig(offset: number, size: number): Uint8Array;
  /** Writes config space at `offset`, already bounds-checked (`VHOST_VDPA_SET_CONFIG`). */
  setConfig(offset: number, data: Uint8Array): void;
  /**
   * Replaces the memory table: the regions to map (mmap `fd` from `mmapOffset` for `memorySize`
   * bytes) and expose at their guest-physical addresses (`VHOST_IOTLB_UPDATE`s over the regions).
   */
  setMemTable(table: VhostUserMemoryTable): void;
  /** Ring size (`VHOST_SET_VRING_NUM`). */
  setVringNum(index: number, num: number): void;
  /** Ring guest-physical addresses (`VHOST_SET_VRING_ADDR`). */
  setVringAddr(index: number, addresses: VhostUserRingAddresses): void;
  /** Next available index (`VHOST_SET_VRING_BASE`). */
  setVringBase(index: number, base: number): void;
  /** Next available index of a stopped ring (`VHOST_GET_VRING_BASE`). */
  getVringBase(index: number): number;
  /** The kick eventfd, or `null` when the front-end asked the back-end to poll (`VHOST_SET_VRING_KICK`). */
  setVringKick(index: number, fd: number | null): void;
  /** The call eventfd, or `null` for none (`VHOST_SET_VRING_CALL`). */
  setVringCall(index: number, fd: number | null): void;
  /**
   * Whether the ring runs (`VHOST_VDPA_SET_VRING_ENABLE`): true once it is started (kick set) and
   * enabled (SET_VRING_ENABLE 1, or at once without `PROTOCOL_FEATURES`) and its addresses are
   * known; false when stopped (GET_VRING_BASE, status 0) or disabled.
   */
  setVringEnable(index: number, enabled: boolean): void;
  /** The front-end is gone or reset the owner: return to the state before the first message. */
  reset(): void;
}

/**
 * What a message made the session do to the backend, in order: the record of each backend call, for
 * logs and tests (the session has already applied it).
 */
export type VhostUserAction =
  | { readonly type: 'set-features'; readonly features: bigint }
  | { readonly type: 'set-status'; readonly status: number }
  | { readonly type: 'set-config'; readonly offset: number; readonly data: Uint8Array }
  | { readonly type: 'set-mem-table'; readonly table: VhostUserMemoryTable }
  | { readonly type: 'set-vring-num'; readonly index: number; readonly num: number }
  | { readonly type: 'set-vring-addr'; readonly index: number; readonly addresses: VhostUserRingAddresses }
  | { readonly type: 'set-vring-base'; readonly index: number; readonly base: number }
  | { readonly type: 'set-vring-kick'; readonly index: number; readonly fd: number | null }
  | { readonly type: 'set-vring-call'; readonly index: number; readonly fd: number | null }
  | { readonly type: 'set-vring-enable'; readonly index: number; readonly enabled: boolean }
  | { readonly type: 'reset' };

/**
 * Applies one action to a backend (the one place that maps actions onto backend calls).
 *
 * @param backend the layer below
 * @param action what to do
 * @throws whatever the backend throws
 */
export function applyVhostUserAction(backend: VhostUserBackend, action: VhostUserAction): void {
  switch (action.type) {
    case 'set-features':
      return backend.setFeatures(action.features);
    case 'set-status':
      return backend.setStatus(action.status);
    case 'set-config':
      return backend.setConfig(action.offset, action.data);
    case 'set-mem-table':
      return backend.setMemTable(action.table);
    case 'set-vring-num':
      return backend.setVringNum(action.index, action.num);
    case 'set-vring-addr':
      return backend.setVringAddr(action.index, action.addresses);
    case 'set-vring-base':
      return backend.setVringBase(action.index, action.base);
    case 'set-vring-kick':
      return backend.setVringKick(action.index, action.fd);
    case 'set-vring-call':
      return backend.setVringCall(action.index, action.fd);
    case 'set-vring-enable':
      return backend.setVringEnable(action.index, action.enabled);
    case 'reset':
      return backend.reset();
  }
}
