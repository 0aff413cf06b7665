import { open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CliError, UsageError } from './errors.js';
import type { ComposeError } from './schemas.js';
import { sanitize } from './table.js';

/**
 * What `apps apply` sends besides the flags: the compose file's text and the text of every file
 * its services name in `env_file`. The hub parses, interpolates and validates the compose file;
 * the CLI reads YAML only to find those file names, because the hub cannot read the operator's
 * disk. Everything else about the file (errors included) is the hub's to say.
 */

/** Far above any real compose or env file; a bound so a wrong `-f /dev/zero` fails at once. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** All files of one apply together. */
export const MAX_TOTAL_BYTES = 4 * 1024 * 1024;

export interface EnvFileRef {
  /** The path as written in the compose file: the key the hub looks it up by. */
  path: string;
  /** Compose's `required: false` lets a missing file be skipped. */
  required: boolean;
  /** Where it was named, for messages: `services.web.env_file`. */
  where: string;
}

export interface ComposeBundle {
  compose: string;
  envFiles: Record<string, string>;
}

/**
 * The env_file entries of every service, in every spelling compose allows: a string, a list of
 * strings, or a list of `{path, required}`. Text that is not YAML, or not shaped like a compose
 * file, yields none: the hub reports what is wrong with it, with line numbers.
 */
export async function envFileRefs(composeText: string): Promise<EnvFileRef[]> {
  // Loaded here, not at the top: every other command starts faster without the YAML parser.
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    // The yaml package's alias limit (100) keeps a billion-laughs file from blowing up here.
    doc = parse(composeText);
  } catch {
    return [];
  }
  const services = isRecord(doc) ? doc['services'] : undefined;
  if (!isRecord(services)) return [];
  const refs: EnvFileRef[] = [];
  for (const [name, svc] of Object.entries(services)) {
    if (!isRecord(svc)) continue;
    const entry = svc['env_file'];
    const where = `services.${name}.env_file`;
    const items = Array.isArray(entry) ? entry : entry === undefined || entry === null ? [] : [entry];
    for (const item of items) {
      if (typeof item === 'string') refs.push({ path: item, required: true, where });
      else if (isRecord(item) && typeof item['path'] === 'string') refs.push({ path: item['path'], required: item['required'] !== false, where });
    }
  }
  return refs;
}

/** Reads the compose file and its env files (paths relative to the compose file's directory). */
export async function loadCompose(file: string): Promise<ComposeBundle> {
  const read = await readBounded(file);
  if (!read.ok) throw new UsageError(`cannot read ${file}: ${read.reason}`);
  const compose = read.text;
  let total = Buffer.byteLength(compose);
  const base = dirname(resolve(file));
  const envFiles: Record<string, string> = {};
  for (const ref of await envFileRefs(compose)) {
    if (ref.path in envFiles) continue;
    const env = await readBounded(resolve(base, ref.path));
    if (!env.ok) {
      if (!ref.required && env.missing) continue;
      throw new CliError(`${file}: ${ref.where}: cannot read ${ref.path}: ${env.reason}`);
    }
    total += Buffer.byteLength(env.text);
    if (total > MAX_TOTAL_BYTES) throw new CliError(`${file} and its env files are larger than ${MAX_TOTAL_BYTES / 1024 / 1024} MiB together`);
    envFiles[ref.path] = env.text;
  }
  return { compose, envFiles };
}

/**
 * One line per problem, the way compilers print them so editors and terminals can jump to it:
 * `compose.yml:12: services.web.ports[0]: message` (no line number when the hub has none).
 */
export function formatComposeErrors(file: string, errors: readonly ComposeError[]): string {
  return errors
    .map((e) => {
      const at = e.line === null ? file : `${file}:${e.line}`;
      const path = e.path === '' ? '' : ` ${sanitize(e.path)}:`;
      return `${at}:${path} ${sanitize(e.message.replace(/\s*\n\s*/g, ' '))}\n`;
    })
    .join('');
}

type ReadResult = { ok: true; text: string } | { ok: false; missing: boolean; reason: string };

/** Reads at most MAX_FILE_BYTES + 1 bytes, so even a device file that never ends is refused quickly. */
async function readBounded(path: string): Promise<ReadResult> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    return { ok: false, missing: (err as NodeJS.ErrnoException).code === 'ENOENT', reason: reason(err) };
  }
  try {
    if ((await handle.stat()).isDirectory()) return { ok: false, missing: false, reason: 'is a directory' };
    const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_FILE_BYTES) return { ok: false, missing: false, reason: `larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB` };
    }
    const bytes = buf.subarray(0, length);
    const text = bytes.toString('utf8');
    // The hub takes text; a binary file named by mistake should fail here, not as mojibake there.
    if (!Buffer.from(text, 'utf8').equals(bytes)) return { ok: false, missing: false, reason: 'not UTF-8 text' };
    return { ok: true, text };
  } catch (err) {
    return { ok: false, missing: false, reason: reason(err) };
  } finally {
    await handle.close();
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EACCES') return 'permission denied';
  if (e.code === 'EISDIR') return 'is a directory';
  return e.message ?? String(err);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
