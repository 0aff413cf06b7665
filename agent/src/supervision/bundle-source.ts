import type { ImageBundleRef } from '@pifleet/protocol';
import type { PullProgress } from '../engine/engine.js';

/**
 * Where images that no registry serves come from: the hub-held `docker save` bundle, downloaded
 * and loaded into the engine. Resolves once the bundle's images are in the engine; rejects when
 * `signal` aborts or the download fails.
 */
export interface BundleSource {
  ensure(bundle: ImageBundleRef, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void>;
}
