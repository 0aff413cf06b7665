import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config.js';
import { readTokenFile } from './token-file.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'pifleet-token-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const SECRET = 'pf_tok_0123456789abcdef';

void test('the token is the file\'s content without surrounding whitespace; o+r is reported', () =>
  withDir(async (dir) => {
    const file = join(dir, 'token');
    await writeFile(file, `  ${SECRET}\n\n`);
    await chmod(file, 0o600);
    assert.deepEqual(await readTokenFile(file), { token: SECRET, readableByOthers: false });
    await chmod(file, 0o644);
    assert.deepEqual(await readTokenFile(file), { token: SECRET, readableByOthers: true });
  }));

void test('a missing, empty, short, oversized or non-regular file is a ConfigError that never shows the content', () =>
  withDir(async (dir) => {
    const cases: [string, string | Buffer | undefined, RegExp][] = [
      ['missing', undefined, /cannot read .*missing: ENOENT/],
      ['empty', ' \n', /empty/],
      ['short', 'pf_tok', /looks truncated/],
      ['huge', Buffer.alloc(10_000, 'a'), /too big/],
      ['.', undefined, /not a regular file|EISDIR/],
    ];
    for (const [name, content, re] of cases) {
      const file = join(dir, name);
      if (content !== undefined) await writeFile(file, content);
      await assert.rejects(readTokenFile(file), (e: Error) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, /^--token-file \(PIFLEET_TOKEN_FILE\): /);
        assert.match(e.message, re);
        assert.ok(!e.message.includes('pf_tok') && !e.message.includes('aaaa'), e.message);
        return true;
      });
    }
  }));
