import { VdpaError, type VdpaErrno } from '@vdpa-kit/core-bus';

/**
 * Why a {@link VirtioError} was raised:
 * - `device-id`: the device reports the reserved device id 0;
 * - `features`: the device does not offer a feature the transport requires (VERSION_1, ACCESS_PLATFORM)
 *   or refused the driver's features;
 * - `features-ok`: the device cleared FEATURES_OK after the driver set it;
 * - `config-generation`: the config generation never settled during a read;
 * - `vq-setup`: a virtqueue could not be set up (`findVqs`);
 * - `ring`: the device broke the ring protocol (used id not in flight, used length too large, …);
 * - `needs-reset`: the device set DEVICE_NEEDS_RESET;
 * - `device-op`: a config op the datapath depends on failed;
 * - `cvq`: the device answered a control command with an error;
 * - `cvq-timeout`: the device did not answer a control command in time;
 * - `unsupported`: the negotiated features do not allow the request;
 * - `closed`: the interface or device is closed or broken.
 */
export type VirtioErrorReason =
  | 'device-id'
  | 'features'
  | 'features-ok'
  | 'config-generation'
  | 'vq-setup'
  | 'ring'
  | 'needs-reset'
  | 'device-op'
  | 'cvq'
  | 'cvq-timeout'
  | 'unsupported'
  | 'closed';

/**
 * The error of `@vdpa-kit/transport-virtio`: a `VdpaError` (so `code` is the errno a kernel would have
 * returned) with the device name and a machine-readable {@link VirtioErrorReason}.
 *
 * @example
 * throw new VirtioError('ENODEV', 'features-ok', 'vdpa0', 'device vdpa0 cleared FEATURES_OK');
 */
export class VirtioError extends VdpaError {
  /**
   * @param code errno-style code
   * @param reason what went wrong, for programs
   * @param dev the vdpa device name
   * @param message lower-case description naming the offending value
   * @param options optional `cause`
   */
  constructor(
    code: VdpaErrno,
    readonly reason: VirtioErrorReason,
    readonly dev: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  /**
   * Wraps anything thrown into a `VirtioError` of `reason` for device `dev`: a `VirtioError` is
   * returned as is; otherwise the errno of `VdpaError.from(err)` is kept and `err` becomes the cause.
   *
   * @param err the thrown value
   * @param reason the reason to give a wrapped error
   * @param dev the device name
   * @param context prefix of the message (`setup of vq 1 failed`)
   */
  static wrap(err: unknown, reason: VirtioErrorReason, dev: string, context: string): VirtioError {
    if (err instanceof VirtioError) return err;
    const base = VdpaError.from(err);
    return new VirtioError(base.code, reason, dev, `${context}: ${base.message}`, { cause: err });
  }
}
