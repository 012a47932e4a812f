import type { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';

/**
 * A config value the module cannot run with. Thrown at startup by every
 * config reader, naming the offending key, so a misconfigured deployment
 * fails fast and clearly.
 */
export class InvalidConfigError extends InputError {
  constructor(key: string, problem: string) {
    super(`Invalid config at '${key}': ${problem}`);
  }
}

export function readInteger(
  config: Config,
  key: string,
  path: string,
  { min, max }: { min: number; max: number },
): number | undefined {
  const value = config.getOptionalNumber(key);
  if (value === undefined) {
    return undefined;
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidConfigError(
      `${path}.${key}`,
      `must be an integer from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}
