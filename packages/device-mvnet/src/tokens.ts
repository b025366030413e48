/** The `MvnetMgmtDevice` singleton (also bound to core-bus's `MGMT_DEVICE`). */
export const MVNET_MGMT_DEVICE = Symbol.for('@vdpa-kit/device-mvnet/MvnetMgmtDevice');
