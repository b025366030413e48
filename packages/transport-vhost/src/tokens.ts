/**
 * inversify service identifiers of `@vdpa-kit/transport-vhost`. `Symbol.for` so that two copies of
 * the package in one process still agree.
 */

/** The `VhostBus` singleton: the `/dev/vhost-vdpa-N` analogues of the devices `vhost_vdpa` bound. */
export const TRANSPORT_VHOST_BUS = Symbol.for('@vdpa-kit/transport-vhost/VhostBus');
