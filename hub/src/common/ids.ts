import { createHash, randomBytes, randomInt } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Random id from [a-z0-9]; 12 chars (~62 bits) for device ids so topics stay short. */
export function randomId(length = 12): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** A secret with 256 bits of entropy, URL-safe. */
export function randomSecret(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** Secrets are high-entropy, so a fast hash is enough (no need for bcrypt on every MQTT connect). */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
