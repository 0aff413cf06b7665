#!/usr/bin/env node
// npm run bench -- <name> [args]: runs test/dist/bench/<name>.js (benchmarks are scripts, not
// timed tests; each prints its figures and a ratio against a baseline measured in the same run).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const [name, ...args] = process.argv.slice(2);
const dir = 'test/dist/bench';
const available = readdirSync(dir).filter((f) => f.endsWith('.js') && true).map((f) => f.replace(/\.js$/, ''));
if (!name || !existsSync(`${dir}/${name}.js`)) {
  console.error(`usage: npm run bench -- <name> [args]   (benchmarks: ${available.join(', ')})`);
  process.exit(2);
}
const child = spawn(process.execPath, [`${dir}/${name}.js`, ...args], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 1));
