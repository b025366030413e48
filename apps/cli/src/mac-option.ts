import { CliError } from './errors.js';
import { parseLladdr } from './vdpa/parse-values.js';

/**
 * A MAC option read as `vdpa dev add … mac` reads it (iproute2 `ll_addr_a2n()`).
 * @param option the option's name as the user typed it (`--mac`, `--set-mac`)
 * @param text the option's value
 * @throws CliError when `text` is not a MAC address
 */
export function macOption(option: string, text: string): Uint8Array {
  const parsed = parseLladdr(text);
  if ('mac' in parsed) return parsed.mac;
  throw new CliError(`${option} ${text} is not a MAC address`);
}
