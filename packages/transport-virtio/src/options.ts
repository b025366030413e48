import { VdpaError } from '@vdpa-kit/core-bus';
import { VIRTQ_MAX_SIZE } from '@vdpa-kit/virtio-spec';
import { DEFAULT_CVQ_TIMEOUT_MS, DEFAULT_QUEUE_SIZE } from './constants.js';

/** Options of `transportVirtioModule`. */
export interface TransportVirtioOptions {
  /**
   * Ring size requested for every virtqueue (default 256), capped at the device's maximum (`getVqSize`
   * or `getVqNumMax`) and rounded down to a power of two.
   */
  readonly queueSize?: number;
  /** Milliseconds a control-queue command waits for the device's ack before it fails (default 1000). */
  readonly cvqTimeoutMs?: number;
  /**
   * Start of the guest-physical range the transport allocates rings and buffers from (default: the
   * start of the first `GUEST_MEMORY` region). Give a range of its own when another component
   * allocates from the same memory.
   */
  readonly dmaBase?: number;
  /** Bytes of that range (default: to the end of the region holding `dmaBase`). */
  readonly dmaSize?: number;
}

/** {@link TransportVirtioOptions} with defaults applied (bound under `TRANSPORT_VIRTIO_OPTIONS`). */
export interface ResolvedTransportVirtioOptions {
  readonly queueSize: number;
  readonly cvqTimeoutMs: number;
  readonly dmaBase: number | undefined;
  readonly dmaSize: number | undefined;
}

/**
 * Applies the defaults of {@link TransportVirtioOptions}.
 *
 * @throws VdpaError `EINVAL` when `queueSize` is not an integer in 1..32768 or `cvqTimeoutMs` is not a
 * positive number (a composition mistake, reported at module creation)
 */
export function resolveTransportVirtioOptions(
  options: TransportVirtioOptions = {},
): ResolvedTransportVirtioOptions {
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  if (!Number.isInteger(queueSize) || queueSize < 1 || queueSize > VIRTQ_MAX_SIZE) {
    throw new VdpaError('EINVAL', `queue size ${queueSize} is not an integer in 1..${VIRTQ_MAX_SIZE}`);
  }
  const cvqTimeoutMs = options.cvqTimeoutMs ?? DEFAULT_CVQ_TIMEOUT_MS;
  if (!(cvqTimeoutMs > 0) || !Number.isFinite(cvqTimeoutMs)) {
    throw new VdpaError('EINVAL', `control queue timeout ${cvqTimeoutMs} ms is not a positive number`);
  }
  return Object.freeze({ queueSize, cvqTimeoutMs, dmaBase: options.dmaBase, dmaSize: options.dmaSize });
}
