/**
 * inversify service identifiers of `@vdpa-kit/transport-virtio`. `Symbol.for` so that two copies of
 * the package in one process still agree.
 */

/** The `VirtioBus` singleton: virtio devices created by `virtio_vdpa` and the drivers riding them. */
export const VIRTIO_BUS = Symbol.for('@vdpa-kit/transport-virtio/VirtioBus');
/** Multi-bound: every `VirtioDriver` (virtio-net now, virtio-blk later) the `VirtioBus` matches by device id. */
export const VIRTIO_DRIVER = Symbol.for('@vdpa-kit/transport-virtio/VirtioDriver');
/** The resolved `TransportVirtioOptions`. */
export const TRANSPORT_VIRTIO_OPTIONS = Symbol.for('@vdpa-kit/transport-virtio/Options');
