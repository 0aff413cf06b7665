import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (test/dist/support → ../../..). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const HUB_MAIN = join(REPO, 'hub/dist/main.js');
export const AGENT_MAIN = join(REPO, 'agent/dist/main.js');
export const CLI_MAIN = join(REPO, 'hub/cli/dist/main.js');
/** Screenshots and logs a person may want to look at after a run (gitignored). */
export const ARTIFACTS = join(REPO, 'test-artifacts');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `pifleet-${prefix}-`));
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
