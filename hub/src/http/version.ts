import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The hub's version, from its package.json (hub/dist/http -> hub/package.json). */
export const HUB_VERSION: string = (() => {
  try {
    const p = resolve(dirname(fileURLToPath(import.meta.url)), '../../package.json');
    return (JSON.parse(readFileSync(p, 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
