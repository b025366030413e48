/**
 * @packageDocumentation
 * The vhost transport: the `vhost_vdpa` analogue (drivers/vhost/vdpa.c) over the vDPA bus, and a
 * vhost-user back-end server so that DPDK and QEMU front-ends drive any device whose class ids include
 * `vhost`.
 */
export {};
