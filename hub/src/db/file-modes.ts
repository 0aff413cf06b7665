import { chmodSync, lstatSync, mkdirSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

/**
 * File-mode policy for the hub's data dir: it holds the embedded database (every operator's bcrypt
 * hash, in the tables and in the WAL), the generated admin password and the broker port, so it is
 * the hub user's alone: the directory 0700, everything in it 0600 (subdirectories 0700).
 */
export const PRIVATE_DIR_MODE = 0o700;
/** Permission bits for group and others: none of them may be set anywhere in the data dir. */
const GROUP_OTHER = 0o077;
const STICKY = 0o1000;
/** The embedded database's directory inside the data dir. */
export const PG_SUBDIR = 'pg';
/** Image bundles held for devices (their files and partial uploads). */
export const IMAGES_SUBDIR = 'images';
/**
 * Files the hub writes directly in the data dir (the generated admin password, the broker port
 * enrolled devices were told). Only these, `pg/`, `images/` and the directory itself are ever
 * chmod-ed.
 */
const HUB_FILES = ['initial-admin-password', 'mqtt-port'];
/** Stop the start-up pass here: a PGlite data dir has ~1,000 entries, a big one a few thousand. */
export const TIGHTEN_MAX_ENTRIES = 100_000;

export interface ModeLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * Owner-only umask for the rest of the hub process. An operator's shell or a service manager may
 * start the hub with 022 or even 000, and several writers do not pass a mode: the broker's port
 * file, directories the embedded Postgres creates (Emscripten's NODEFS mkdirs honour only the
 * process umask), and whatever is added later. Set when the database is opened, which is before
 * anything else in the hub writes to the data dir. A no-op in worker threads, which cannot set it.
 */
export function restrictUmask(): void {
  if (isMainThread) process.umask(GROUP_OTHER);
}

/**
 * Creates `dir` (and missing parents) as 0700. An existing directory keeps its mode here; see
 * tightenDataDir for when the hub changes it.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** `ensurePrivateDir` for a directory that is the hub's by definition (the database's): also chmod-ed. */
export function ensureOwnPrivateDir(dir: string): void {
  ensurePrivateDir(dir);
  const st = lstatSync(dir);
  if ((st.mode & GROUP_OTHER) !== 0) chmodSync(dir, st.mode & 0o777 & ~GROUP_OTHER);
}

export interface TightenResult {
  /** Entries whose mode was changed. */
  changed: number;
  /** Entries looked at (at most the bound). */
  scanned: number;
  /** False when the bound stopped the pass before it saw everything. */
  complete: boolean;
}

/**
 * Removes group/other permissions from the data dir, the hub's files directly in it, and
 * everything under its `pg/` (the embedded database). Data dirs written by earlier versions have
 * PGlite's initdb files at 0666 and directories at 0755; this brings them in line at start.
 *
 * PIFLEET_DATA_DIR may name a directory that is not only the hub's (tests pass the system temp
 * dir with an external database), so the directory itself is changed only when it looks like a
 * hub data dir: not sticky (as /tmp is), and empty or holding `pg/` or one of the hub's files.
 * Otherwise it is left as it is, with a warning if it is open to others. Other files and
 * subdirectories are never touched, symlinks are never followed, and the pass stops after
 * `maxEntries` with a warning. Costs one lstat per entry and runs at every start, so an entry that
 * slipped through (e.g. written while an earlier version ran) is caught on the next one. Logs one
 * line when it changed anything. `pg`: the embedded database is in use, so `pg/` is the hub's.
 */
export function tightenDataDir(dataDir: string, log: ModeLog, opts: { pg: boolean; maxEntries?: number }): TightenResult {
  const maxEntries = opts.maxEntries ?? TIGHTEN_MAX_ENTRIES;
  let changed = 0;
  let scanned = 0;
  let complete = true;
  const failed: string[] = [];

  /** lstat + fix one entry; undefined at the bound or when it vanished. */
  const visit = (path: string, fix = true): Stats | undefined => {
    if (scanned >= maxEntries) {
      complete = false;
      return undefined;
    }
    scanned++;
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch {
      return undefined; // removed meanwhile (a temp file): nothing to protect
    }
    if (fix && (st.isFile() || st.isDirectory()) && (st.mode & GROUP_OTHER) !== 0) {
      try {
        chmodSync(path, st.mode & 0o777 & ~GROUP_OTHER);
        changed++;
      } catch (e) {
        if (failed.length < 5) failed.push(`${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
    }
    return st;
  };
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir).sort();
    } catch {
      return [];
    }
  };
  const walk = (dir: string): void => {
    for (const name of list(dir)) {
      if (!complete) return;
      const path = join(dir, name);
      if (visit(path)?.isDirectory()) walk(path);
    }
  };

  let top: Stats;
  try {
    top = lstatSync(dataDir);
  } catch {
    return { changed, scanned, complete };
  }
  if (!top.isDirectory()) return { changed, scanned, complete };
  const names = list(dataDir);
  const hubs = (top.mode & STICKY) === 0 && (names.length === 0 || names.some((n) => n === PG_SUBDIR || HUB_FILES.includes(n)));
  visit(dataDir, hubs);
  if (hubs) {
    for (const name of HUB_FILES) {
      if (!names.includes(name)) continue;
      const path = join(dataDir, name);
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (st?.isFile()) visit(path);
    }
  } else if ((top.mode & GROUP_OTHER) !== 0) {
    log.warn({ dataDir }, 'data dir: the directory is shared with other users (not only the hub\'s); the hub keeps its own files in it private, but give it a directory of its own (PIFLEET_DATA_DIR)');
  }
  if ((hubs || opts.pg) && names.includes(PG_SUBDIR)) {
    const pg = join(dataDir, PG_SUBDIR);
    if (visit(pg)?.isDirectory()) walk(pg);
  }
  if (hubs && names.includes(IMAGES_SUBDIR)) {
    const images = join(dataDir, IMAGES_SUBDIR);
    if (visit(images)?.isDirectory()) walk(images);
  }

  if (changed > 0) {
    log.info({ dataDir, changed, scanned }, `data dir: restricted ${changed} files and directories to the hub's user (group/other permissions removed)`);
  }
  if (!complete) {
    log.warn({ dataDir, scanned }, `data dir: stopped checking file modes after ${scanned} entries; run \`chmod -R go= ${join(dataDir, PG_SUBDIR)}\``);
  }
  if (failed.length > 0) {
    log.warn({ dataDir, failed }, 'data dir: could not restrict some file modes (owned by another user?)');
  }
  return { changed, scanned, complete };
}

/** Where file-mode messages go when the caller has no logger: one line on stderr, as main.ts does. */
export const stderrModeLog: ModeLog = {
  info: (_obj, msg) => process.stderr.write(`pifleet hub: ${msg}\n`),
  warn: (_obj, msg) => process.stderr.write(`pifleet hub: warning: ${msg}\n`),
};
