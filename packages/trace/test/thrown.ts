import { VdpaError } from '@vdpa-kit/core-bus';

/** What `fn` threw, as a `VdpaError` (`VdpaError.from`), or undefined when it returned. */
export function thrown(fn: () => unknown): VdpaError | undefined {
  try {
    fn();
  } catch (err) {
    return VdpaError.from(err);
  }
  return undefined;
}
