import type { PullProgress } from './engine.js';

/**
 * Reading the engine's image streams: pull progress summed over layers, the refs a load
 * reports, and the error object either can end with.
 */

/** Most layers an image can have is 127 (overlayfs); a bound well above keeps the map small. */
const MAX_LAYERS = 1024;

/**
 * Sums the download progress of every layer seen. When the engine reports sizes (Docker does,
 * per layer while it downloads) `done`/`total` are bytes, and `total` grows as layers start.
 * Podman 4 often reports none ("Pulling fs layer", then "Download complete"): then they count
 * layers, so the fraction done/total still means something to whoever shows it.
 */
export class PullTracker {
  private readonly layers = new Map<string, { current: number; total: number; complete: boolean }>();
  private last = '';

  /** Feeds one progress object; returns the new sum when it changed, else undefined. */
  update(msg: Record<string, unknown>): PullProgress | undefined {
    const id = typeof msg['id'] === 'string' ? msg['id'] : undefined;
    const status = typeof msg['status'] === 'string' ? msg['status'] : '';
    if (!id || !/^(pulling fs layer|waiting|downloading|download complete|verifying checksum|extracting|pull complete|already exists)/i.test(status)) return undefined;
    let layer = this.layers.get(id);
    if (!layer) {
      if (this.layers.size >= MAX_LAYERS) return undefined;
      layer = { current: 0, total: 0, complete: false };
      this.layers.set(id, layer);
    }
    const detail = (msg['progressDetail'] ?? {}) as { current?: unknown; total?: unknown };
    if (/^downloading/i.test(status) && typeof detail.total === 'number' && detail.total > 0) {
      layer.total = detail.total;
      layer.current = typeof detail.current === 'number' ? Math.min(Math.max(0, detail.current), detail.total) : 0;
    } else if (/^(download complete|verifying checksum|extracting|pull complete|already exists)/i.test(status)) {
      layer.complete = true;
      layer.current = layer.total;
    }
    const p = this.sum();
    const key = `${p.done}/${p.total}`;
    if (key === this.last) return undefined;
    this.last = key;
    return p;
  }

  sum(): PullProgress {
    const all = [...this.layers.values()];
    if (all.some((l) => l.total > 0)) {
      // Bytes; a layer that finished without ever reporting a size adds nothing to either side.
      return all.reduce((acc, l) => ({ done: acc.done + l.current, total: acc.total + l.total }), { done: 0, total: 0 });
    }
    return { done: all.filter((l) => l.complete).length, total: all.length };
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
