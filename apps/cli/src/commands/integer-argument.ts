import { InvalidArgumentError } from 'commander';

/**
 * A commander argument parser for an integer option of at least `min`.
 * @param what the option as the error names it (`--size`)
 * @example
 * cmd.option('--runs <k>', 'timed runs', integerArgument(1, '--runs'));
 */
export function integerArgument(min: number, what: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`${what} ${value} is not an integer ≥ ${min}.`);
    }
    return Number(value);
  };
}
