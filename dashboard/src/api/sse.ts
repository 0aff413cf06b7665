/**
 * Minimal Server-Sent Events reader over fetch. EventSource would hide the HTTP status (so a 401
 * could not send the user back to the login page) and the heartbeat comments (so a silently dead
 * connection could never be detected); reading the stream ourselves gives us both.
 */
import { ApiError, notifyUnauthorized } from './client';

export interface SseEvent {
  event: string;
  data: string;
}

/** The hub sends a comment at least this often; longer silence means the connection is dead. */
const IDLE_TIMEOUT_MS = 60_000;

/**
 * Opens `path`, calls `onEvent` for each event until the stream ends (resolves) or fails (rejects).
 * Aborting `signal` ends it early.
 */
export async function readSse(path: string, signal: AbortSignal, onEvent: (e: SseEvent) => void): Promise<void> {
  const conn = new AbortController();
  const stop = () => conn.abort();
  signal.addEventListener('abort', stop, { once: true });
  let idle: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => conn.abort(new Error('no data from hub for 60 s')), IDLE_TIMEOUT_MS);
  };
  try {
    touch();
    let res: Response;
    try {
      res = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'text/event-stream' }, signal: conn.signal });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new ApiError(0, 'unreachable', 'hub unreachable');
    }
    if (!res.ok || !res.body) {
      if (res.status === 401) notifyUnauthorized();
      throw new ApiError(res.status, `http_${res.status}`, `event stream refused (HTTP ${res.status})`);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      touch();
      buf += value;
      // Events are separated by a blank line (WHATWG HTML §9.2.6); any of \r\n, \n, \r ends a line.
      const blocks = buf.split(/\r\n\r\n|\n\n|\r\r/);
      buf = blocks.pop() ?? '';
      for (const block of blocks) {
        const ev = parseBlock(block);
        if (ev) onEvent(ev);
      }
    }
  } catch (err) {
    // An idle-timeout abort surfaces as an AbortError; report the reason instead.
    if (conn.signal.aborted && !signal.aborted && conn.signal.reason instanceof Error) throw conn.signal.reason;
    throw err;
  } finally {
    clearTimeout(idle);
    signal.removeEventListener('abort', stop);
  }
}

function parseBlock(block: string): SseEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (line === '' || line.startsWith(':')) continue; // comment = heartbeat
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length ? { event, data: data.join('\n') } : undefined;
}
