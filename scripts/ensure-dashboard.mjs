#!/usr/bin/env node
// Builds the dashboard when its bundle is missing or older than its sources, so `npm start` and
// `npm test` always serve the current UI without rebuilding it every time.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

const bundle = 'dashboard/dist/index.html';
const sources = Math.max(newest('dashboard/src'), statSync('dashboard/index.html').mtimeMs);
if (!existsSync(bundle) || statSync(bundle).mtimeMs < sources) {
  execSync('npm run build -w @pifleet/dashboard', { stdio: 'inherit' });
}
