import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { EXIT } from './errors.js';
import { run } from './program.js';
import type { Io } from './session.js';

/** Runs the CLI in-process with captured output and an empty, non-TTY stdin. */
async function cli(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdin = new PassThrough();
  stdin.end();
  const io: Io = {
    env,
    stdin,
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    fetch,
    now: () => new Date(),
  };
  const code = await run(argv, io);
  return { code, out, err };
}

/** A port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

void describe('pifleet command line', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pifleet-cli-program-'));
    env = { PIFLEET_CONFIG: dir };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('prints help with examples on stdout for every command, exit 0', async () => {
    for (const argv of [[], ['login'], ['logout'], ['devices'], ['device', 'show'], ['device', 'rename'], ['device', 'tag'], ['device', 'revoke'], ['token', 'create'], ['token', 'list'], ['token', 'revoke'],
      ['apps', 'apply'], ['apps', 'list'], ['apps', 'releases'], ['apps', 'rollback'], ['apps', 'rm'], ['ps'],
      ...['start', 'stop', 'restart', 'reset', 'pause', 'resume', 'history'].map((a) => ['service', a]),
      ['images', 'push'], ['images', 'list'], ['images', 'rm'], ['audit']]) {
      const r = await cli([...argv, '--help'], env);
      assert.equal(r.code, EXIT.ok, argv.join(' '));
      assert.match(r.out, /Example/, argv.join(' '));
      assert.equal(r.err, '');
    }
  });

  void it('reports usage errors on one stderr line with exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['nope'], /^pifleet: unknown command 'nope'/],
      [['devices', '--bogus'], /^pifleet: unknown option '--bogus'/],
      [['device'], /^pifleet: missing command; see: pifleet device --help\n$/],
      [['token', 'create'], /--fleet <name>' not specified/],
      [['token', 'create', '--fleet', 'f', '--ttl', '10'], /invalid duration '10'/],
      [['token', 'create', '--fleet', 'f', '--uses', 'many'], /at least 1/],
      [['device', 'rename', 'only-one'], /missing required argument 'new-name'/],
      [['devices', '--online', '--offline', '--hub', 'http://h'], /exclude each other/],
      [['login', '--hub', 'http://h', '--user', 'admin'], /--password-stdin/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv, { ...env, PIFLEET_TOKEN: 'x' });
      assert.equal(r.code, EXIT.usage, argv.join(' '));
      assert.match(r.err, message, argv.join(' '));
      assert.equal(r.err.split('\n').length, 2, `one line for ${argv.join(' ')}: ${r.err}`);
      assert.equal(r.out, '');
    }
  });

  void it('refuses to revoke without --yes when stdin is not a terminal', async () => {
    const r = await cli(['device', 'revoke', 'pi', '--hub', 'http://h'], { ...env, PIFLEET_TOKEN: 'x' });
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /pass --yes/);
  });

  void it('says so when nobody is logged in, exit 3 with the hint', async () => {
    const r = await cli(['devices'], env);
    assert.equal(r.code, EXIT.auth);
    assert.equal(r.err, 'pifleet: not logged in (no hub configured); run: pifleet login\n');
  });

  void it('names the hub and the reason when it cannot be reached', async () => {
    const hub = `http://127.0.0.1:${await closedPort()}`;
    const r = await cli(['devices', '--hub', hub], { ...env, PIFLEET_TOKEN: 'x' });
    assert.equal(r.code, EXIT.failure);
    assert.match(r.err, new RegExp(`^pifleet: cannot reach hub at ${hub}: .*ECONNREFUSED.*\\n$`));
  });

  void it('prints the version', async () => {
    const r = await cli(['--version'], env);
    assert.equal(r.code, EXIT.ok);
    assert.match(r.out, /^\d+\.\d+\.\d+\n$/);
  });
});
