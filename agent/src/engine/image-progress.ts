import type { PullProgress } from './engine.js';

/**
 * Reading the engine's image streams: pull progress summed over layers, the refs a load
 * reports, and the error object either can end with.
 */

/** Most layers an image can have is 127 (overlayfs); a bound well above keeps the map small. */
const MAX_LAYERS = 1024;

/**
 * Sums the download progress of every layer seen: `done` = bytes downloaded, `total` = bytes
 * known so far (a layer's size is known once its download starts, so `total` can grow).
 */
export class PullTracker {
  private readonly layers = new Map<string, { current: number; total: number }>();

  /** Feeds one progress object; returns the new sum when it changed, else undefined. */
  update(msg: Record<string, unknown>): PullProgress | undefined {
    const id = typeof msg['id'] === 'string' ? msg['id'] : undefined;
    const status = typeof msg['status'] === 'string' ? msg['status'] : '';
    if (!id) return undefined;
    const detail = (msg['progressDetail'] ?? {}) as { current?: unknown; total?: unknown };
    const layer = this.layers.get(id);
    if (/^downloading/i.test(status) && typeof detail.total === 'number' && detail.total > 0) {
      if (!layer && this.layers.size >= MAX_LAYERS) return undefined;
      const current = typeof detail.current === 'number' ? Math.min(detail.current, detail.total) : 0;
      this.layers.set(id, { current, total: detail.total });
      return this.sum();
    }
    if (layer && /^(download complete|pull complete|extracting|verifying checksum)/i.test(status) && layer.current !== layer.total) {
      layer.current = layer.total;
      return this.sum();
    }
    return undefined;
  }

  sum(): PullProgress {
    let done = 0;
    let total = 0;
    for (const l of this.layers.values()) {
      done += l.current;
      total += l.total;
    }
    return { done, total };
  }
}

/** The error a stream reported in-band (`{"error": "...", "errorDetail": {...}}`), if this object is one. */
export function streamError(msg: Record<string, unknown>): string | undefined {
  if (typeof msg['error'] === 'string' && msg['error']) return msg['error'];
  const detail = msg['errorDetail'] as { message?: unknown } | undefined;
  if (detail && typeof detail.message === 'string' && detail.message) return detail.message;
  return undefined;
}

/**
 * Image refs from one line of `POST /images/load` output. Docker prints "Loaded image: repo:tag"
 * per tag and "Loaded image ID: sha256:..." for an untagged image; Podman prints "Loaded image: "
 * (or "Loaded image(s): ") followed by every name, comma-separated.
 */
export function loadedRefs(line: string): string[] {
  const m = /^Loaded image(?:\(s\))?(?: ID)?:\s*(.+)$/m.exec(line.trim());
  if (!m) return [];
  return m[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && s.length <= 512);
}
