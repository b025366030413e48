/**
 * `struct vhost_vring_state`: a ring index and a number (size, base, enable, group, ASID: each ioctl
 * gives `num` its meaning).
 */
export interface VhostVringState {
  /** Ring index (for `VHOST_VDPA_SET_GROUP_ASID`, the group index). */
  readonly index: number;
  /** The value (u32). */
  readonly num: number;
}

/** `struct vhost_vring_addr`: ring addresses as userspace gives them (u64, here IOVAs). */
export interface VhostVringAddr {
  /** Ring index. */
  readonly index: number;
  /** `VHOST_VRING_F_LOG` or 0. */
  readonly flags: number;
  /** Descriptor table. */
  readonly desc: bigint;
  /** Used ring (the device area). */
  readonly used: bigint;
  /** Available ring (the driver area). */
  readonly avail: bigint;
  /** Used-ring log address (dirty logging is not supported; alignment is still checked). */
  readonly log: bigint;
}

/** The per-ring state `vhost_vdpa` keeps in its `struct vhost_virtqueue`. */
export interface VhostVqState {
  num: number;
  desc: bigint;
  avail: bigint;
  used: bigint;
  log: bigint;
  lastAvailIdx: number;
  lastUsedIdx: number;
}

/** A `struct vhost_virtqueue` after `vhost_vq_reset()`: size 1, no addresses, indices 0. */
export function resetVhostVq(): VhostVqState {
  return { num: 1, desc: 0n, avail: 0n, used: 0n, log: 0n, lastAvailIdx: 0, lastUsedIdx: 0 };
}

/** One ring as a {@link VhostVdpaSnapshot} shows it. */
export interface VhostRingSnapshot {
  readonly index: number;
  /** `VHOST_SET_VRING_NUM` (1 until set). */
  readonly num: number;
  readonly desc: bigint;
  readonly avail: bigint;
  readonly used: bigint;
  /** The last base set or read (`VHOST_SET_VRING_BASE` / `VHOST_GET_VRING_BASE`). */
  readonly base: number;
  /** A kick eventfd is set. */
  readonly kick: boolean;
  /** A call eventfd is set. */
  readonly call: boolean;
}

/** What an open vhost-vdpa file holds (for status lines and logs; the device's own state is on the bus). */
export interface VhostVdpaSnapshot {
  readonly device: string;
  readonly owner: boolean;
  /** Features the device kept (`getDriverFeatures` after `VHOST_SET_FEATURES`), 0 before. */
  readonly features: bigint;
  readonly backendFeatures: bigint;
  readonly suspended: boolean;
  readonly configCall: boolean;
  readonly rings: readonly VhostRingSnapshot[];
}
