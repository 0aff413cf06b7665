/**
 * Settings for the embedded PGlite. Postgres' default shared_buffers (128 MB) lives inside the
 * WebAssembly heap and so counts fully in the hub's RSS; reads miss into the OS page cache anyway
 * (PGlite's files are real files), so a small buffer pool costs little and saves ~110 MB.
 */
export const PGLITE_CONF = ['shared_buffers=16MB'];
