import v8 from 'node:v8';

/**
 * V8 settings for the hub process, applied before PGlite compiles its WebAssembly (so this module
 * is main.ts's first import). Liftoff-only keeps the baseline-compiled Postgres and skips the
 * optimising tier, whose code and compile buffers cost ~50 MB of RSS for good; the optimised tier
 * would save ~20 % CPU on queries, which a hub for 5,000 devices does not need
 * (docs/benchmarks.md, `npm run bench -- presence`). PIFLEET_WASM_OPTIMIZE=1 turns it back on.
 */
if (process.env['PIFLEET_WASM_OPTIMIZE'] !== '1') v8.setFlagsFromString('--liftoff-only');
