import { type Interceptor, type VdpaBus, VdpaError } from '@vdpa-kit/core-bus';
import { parseInjectSpec } from '@vdpa-kit/trace';
import { CliError } from '../errors.js';

/**
 * Parses every `--inject` spec (`OP:N:ERRNO`, `OP:N+:ERRNO`, `OP:N:corrupt`) into a fault-injecting
 * interceptor, before anything is composed, so a bad spec fails the command at once.
 *
 * @param specs the `--inject` arguments, in order
 * @throws CliError naming the first bad spec (`inject spec "OP:N": expected OP:N:ERRNO, …`)
 * @example
 * const faults = parseInjectOptions(['setVqNum:1:EIO']);
 */
export function parseInjectOptions(specs: readonly string[]): Interceptor[] {
  return specs.map((spec) => {
    try {
      return parseInjectSpec(spec);
    } catch (err) {
      const message = VdpaError.from(err).message;
      // The parser's messages name the spec already (`inject spec "…": …`).
      throw new CliError(message.includes(spec) ? message : `--inject ${spec}: ${message}`, { cause: err });
    }
  });
}

/**
 * Installs fault-injecting interceptors on `bus`, in order (the first is the outermost layer).
 *
 * @returns a function removing them all
 */
export function installFaults(bus: VdpaBus, faults: readonly Interceptor[]): () => void {
  const removers = faults.map((f) => bus.addInterceptor(f));
  return () => {
    for (const remove of removers) remove();
  };
}
