/**
 * A failed system call in the native addon: `code` is the errno name (`EAGAIN`, `EBADF`, `EMSGSIZE`, …)
 * and `syscall` the call that failed (`recvmsg`, `mmap`, `poll`, …), as Node's own system errors have.
 *
 * @example
 * ```ts
 * try {
 *   native.close(fd);
 * } catch (e) {
 *   if (e instanceof NativeError && e.code === 'EBADF') console.warn(`fd ${fd} was already closed`);
 * }
 * ```
 */
export class NativeError extends Error {
  override readonly name = 'NativeError';

  /**
   * Built by the addon for every failing call (it is handed this class at load time).
   * @param message lower-case, names the call, the fd or value and the system's text
   * @param code the errno name, e.g. `EBADF`
   * @param syscall the failing system call, e.g. `sendmsg`
   * @param errno the positive errno number
   */
  constructor(
    message: string,
    readonly code: string,
    readonly syscall: string,
    readonly errno: number,
  ) {
    super(message);
  }
}

/** The `code` of {@link NativeAddonMissingError}. */
export const ERR_NATIVE_ADDON_NOT_BUILT = 'ERR_NATIVE_ADDON_NOT_BUILT';

/**
 * The addon is not there (it did not build at install, or this is not Linux): thrown by `loadNative()`.
 * Everything that does not need the addon keeps working; `reason` says why it is missing.
 */
export class NativeAddonMissingError extends Error {
  override readonly name = 'NativeAddonMissingError';
  /** Always {@link ERR_NATIVE_ADDON_NOT_BUILT}. */
  readonly code = ERR_NATIVE_ADDON_NOT_BUILT;

  /**
   * @param reason why the addon could not be loaded (the build failure, or the loader's error)
   * @param options the loader's error as `cause`
   */
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the native addon @vdpa-kit/native-vhost is not built: ${reason}; ` +
        'install python3, make and g++ and run npm rebuild @vdpa-kit/native-vhost',
      options,
    );
  }
}
