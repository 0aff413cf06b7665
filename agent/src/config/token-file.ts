import { open } from 'node:fs/promises';
import { ConfigError, TokenSchema } from './config.js';

/** A token is at most 256 characters; anything much bigger is the wrong file. */
const MAX_BYTES = 4096;
const WHERE = '--token-file (PIFLEET_TOKEN_FILE)';

export interface TokenFromFile {
  token: string;
  /** Others may read the file (mode o+r): worth a warning, since the token enrolls a device. */
  readableByOthers: boolean;
}

/**
 * Reads the provisioning token from `path` (surrounding whitespace dropped). Called only when the
 * agent has to enroll, so a file removed after provisioning does not stop an enrolled device.
 * Errors name the file and the reason, never its content.
 */
export async function readTokenFile(path: string): Promise<TokenFromFile> {
  let text: string;
  let mode: number;
  try {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new ConfigError(`${WHERE}: ${path} is not a regular file`);
      if (st.size > MAX_BYTES) throw new ConfigError(`${WHERE}: ${path} is ${st.size} bytes, too big for a token`);
      mode = st.mode;
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`${WHERE}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const r = TokenSchema.safeParse(text.trim());
  if (!r.success) throw new ConfigError(`${WHERE}: ${path}: ${text.trim() === '' ? 'empty' : r.error.issues[0]!.message}`);
  return { token: r.data, readableByOthers: (mode & 0o004) !== 0 };
}
