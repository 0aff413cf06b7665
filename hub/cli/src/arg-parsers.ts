import { InvalidArgumentError } from 'commander';

/**
 * Option parsers shared by the commands; commander reports their errors as usage errors (exit 2)
 * naming the option.
 */

/** A whole number in [min, max]; refuses `1.5`, `1e3`, `0x10` and the empty string. */
export function intInRange(min: number, max: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `must be a whole number of at least ${min}` : `must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/** Release numbers, `--limit`: at least 1, no upper bound the CLI needs to know. */
export const positiveInt = intInRange(1, Number.MAX_SAFE_INTEGER);
