/**
 * inversify service identifiers of `@vdpa-kit/device-vdpasim`. `Symbol.for` so that two copies of the
 * package in one process still agree.
 */

/** The resolved `VdpasimOptions` of `vdpasimModule` (a `ResolvedVdpasimOptions`). */
export const VDPASIM_OPTIONS = Symbol.for('@vdpa-kit/device-vdpasim/VdpasimOptions');

/** The `vdpasim_net` management device (`VdpasimNetMgmt`), also bound to core-bus's `MGMT_DEVICE`. */
export const VDPASIM_NET_MGMT = Symbol.for('@vdpa-kit/device-vdpasim/VdpasimNetMgmt');
