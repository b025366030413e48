/** The program name printed in usage lines (iproute2 prints `vdpa`). */
export const PROGRAM = 'vdpa-kit';

/**
 * `vdpa help` (stderr, exit 0), for an object word that is a prefix of `help`. iproute2's `help()` lists
 * `-n[o-nice-names]`, which its option parser does not accept; the text is kept as printed.
 */
export const OBJECT_USAGE = [
  `Usage: ${PROGRAM} [ OPTIONS ] OBJECT { COMMAND | help }`,
  'where  OBJECT := { mgmtdev | dev }',
  '       OPTIONS := { -V[ersion] | -n[o-nice-names] | -j[son] | -p[retty] }',
];

/** `vdpa mgmtdev help` (stderr, exit 0). */
export const MGMTDEV_USAGE = [`Usage: ${PROGRAM} mgmtdev show [ DEV ]`];

const ADD_PREFIX = `       ${PROGRAM} dev add name NAME mgmtdev MANAGEMENTDEV `;
const ADD_INDENT = ' '.repeat(ADD_PREFIX.length);

/** `vdpa dev help` of current iproute2 (stderr, exit 0). */
export const DEV_USAGE = [
  `Usage: ${PROGRAM} dev show [ DEV ]`,
  `${ADD_PREFIX}[ device_features DEVICE_FEATURES]`,
  `${ADD_INDENT}[ mac MACADDR ] [ mtu MTU ]`,
  `${ADD_INDENT}[ max_vqp MAX_VQ_PAIRS ]`,
  `       ${PROGRAM} dev del DEV`,
  `Usage: ${PROGRAM} dev config COMMAND [ OPTIONS ]`,
  `Usage: ${PROGRAM} dev vstats COMMAND`,
];

/** `vdpa dev config help`. */
export const DEV_CONFIG_USAGE = [`Usage: ${PROGRAM} dev config show [ DEV ]`];

/** `vdpa dev vstats help` (exit 0) and the usage of a malformed `vstats` line (exit 1). */
export const DEV_VSTATS_USAGE = [`Usage: ${PROGRAM} dev vstats show DEV [qidx QUEUE_INDEX]`];
