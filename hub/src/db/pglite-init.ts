/**
 * Initialises an empty PGlite data dir in a short-lived child process. PGlite's initdb loads a
 * second WebAssembly module and touches ~600 MB that the process never gives back; doing it
 * here keeps the hub's own RSS at what the running database needs (docs/benchmarks.md).
 * Usage: node pglite-init.js <dir>
 */
import { PGLITE_CONF } from './pglite-conf.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: pglite-init <dir>');
  process.exit(2);
}
const { PGlite } = await import('@electric-sql/pglite');
const db = await PGlite.create(dir, { postgresqlconf: PGLITE_CONF });
await db.query('select 1');
await db.close();
