import type { z } from 'zod';
import { MAX_PAYLOAD_BYTES } from './limits.js';
import { PROTOCOL_VERSION } from './version.js';

export type DecodeError = 'oversized' | 'not-json' | 'invalid';
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: DecodeError; detail: string };

/**
 * Validates an MQTT payload at the edge. Never throws: invalid input is reported so the caller
 * can count and drop it (invalid messages are counted and dropped, never thrown).
 */
export function decodePayload<S extends z.ZodType>(
  schema: S,
  payload: Uint8Array,
  maxBytes = MAX_PAYLOAD_BYTES,
): Decoded<z.infer<S>> {
  if (payload.byteLength > maxBytes) {
    return { ok: false, error: 'oversized', detail: `${payload.byteLength} bytes > ${maxBytes}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch (e) {
    return { ok: false, error: 'not-json', detail: (e as Error).message };
  }
  const r = schema.safeParse(json);
  if (!r.success) return { ok: false, error: 'invalid', detail: r.error.issues[0]?.message ?? 'invalid' };
  return { ok: true, value: r.data };
}

let counter = 0;
const prefix = Math.random().toString(36).slice(2, 6);
/** Short message id, unique per process: enough for dedupe and correlation, cheap on the wire. */
export function messageId(): string {
  counter = (counter + 1) % 0x7fffffff;
  return `${prefix}${counter.toString(36)}`;
}

/** Builds the common envelope fields. */
export function envelope<T extends string>(type: T): { v: number; type: T; id: string; ts: number } {
  return { v: PROTOCOL_VERSION, type, id: messageId(), ts: Date.now() };
}
