/**
 * Initialises an empty PGlite data dir in a short-lived child process. PGlite's initdb loads a
 * second WebAssembly module and touches ~600 MB that the process never gives back; doing it
 * here keeps the hub's own RSS at what the running database needs (docs/benchmarks.md).
 * The files are created owner-only (file-modes.ts, private-nodefs.ts): initdb's output is copied
 * into the directory with Emscripten's default mode 0666 otherwise.
 * Usage: node pglite-init.js <dir>
 */
import { restrictUmask } from './file-modes.js';
import { PGLITE_CONF } from './pglite-conf.js';
import { PrivateNodeFS } from './private-nodefs.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: pglite-init <dir>');
  process.exit(2);
}
restrictUmask();
const { PGlite } = await import('@electric-sql/pglite');
const db = await PGlite.create({ fs: new PrivateNodeFS(dir), postgresqlconf: PGLITE_CONF });
await db.query('select 1');
await db.close();
