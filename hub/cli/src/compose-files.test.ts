import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { envFileRefs, formatComposeErrors, loadCompose, MAX_FILE_BYTES } from './compose-files.js';
import { CliError, EXIT } from './errors.js';

void describe('envFileRefs', () => {
  void it('finds env_file in every spelling compose allows, with the path as written', async () => {
    const refs = await envFileRefs(
      [
        'services:',
        '  a:',
        '    image: x',
        '    env_file: ./a.env',
        '  b:',
        '    image: x',
        '    env_file: [b1.env, "conf/b2.env"]',
        '  c:',
        '    image: x',
        '    env_file:',
        '      - path: c.env',
        '        required: false',
        '      - path: /etc/c.env',
        '  d:',
        '    image: x',
      ].join('\n'),
    );
    assert.deepEqual(refs, [
      { path: './a.env', required: true, where: 'services.a.env_file' },
      { path: 'b1.env', required: true, where: 'services.b.env_file' },
      { path: 'conf/b2.env', required: true, where: 'services.b.env_file' },
      { path: 'c.env', required: false, where: 'services.c.env_file' },
      { path: '/etc/c.env', required: true, where: 'services.c.env_file' },
    ]);
  });

  void it('finds nothing in text that is not a compose file, leaving the errors to the hub', async () => {
    for (const text of ['', 'services: [', 'just a string', 'services: 3', '- a\n- b', 'services:\n  a: 1\n  b: {env_file: 7}']) {
      assert.deepEqual(await envFileRefs(text), [], text);
    }
  });

  void it('does not expand an alias bomb', async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) lines.push(`${'b'.repeat(i)}: &${'b'.repeat(i)} [${Array(10).fill(i === 1 ? '*a' : `*${'b'.repeat(i - 1)}`).join(',')}]`);
    lines.push('services: {}');
    const started = Date.now();
    assert.deepEqual(await envFileRefs(lines.join('\n')), []);
    assert.ok(Date.now() - started < 2000, 'refused quickly');
  });
});

void describe('loadCompose', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pifleet-compose-'));
    await mkdir(join(dir, 'app', 'conf'), { recursive: true });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  void it('reads env files relative to the compose file, keyed by the path as written; an optional missing one is skipped', async () => {
    const compose = 'services:\n  web:\n    image: nginx\n    env_file: [conf/web.env, {path: gone.env, required: false}]\n  api:\n    image: api\n    env_file: conf/web.env\n';
    await writeFile(join(dir, 'app', 'compose.yml'), compose);
    await writeFile(join(dir, 'app', 'conf', 'web.env'), 'A=1\nB=two\n');
    const got = await loadCompose(join(dir, 'app', 'compose.yml'));
    assert.equal(got.compose, compose);
    assert.deepEqual(got.envFiles, { 'conf/web.env': 'A=1\nB=two\n' });
  });

  void it('names the compose file, the service and the path when a required env file is missing', async () => {
    await writeFile(join(dir, 'missing.yml'), 'services:\n  web:\n    image: nginx\n    env_file: nope.env\n');
    await assert.rejects(loadCompose(join(dir, 'missing.yml')), (err: CliError) => {
      assert.equal(err.exitCode, EXIT.failure);
      assert.match(err.message, /missing\.yml: services\.web\.env_file: cannot read nope\.env: no such file$/);
      return true;
    });
  });

  void it('refuses an unreadable compose file as a usage error', async () => {
    await assert.rejects(loadCompose(join(dir, 'none.yml')), (err: CliError) => err.exitCode === EXIT.usage && /cannot read .*none\.yml: no such file/.test(err.message));
    await assert.rejects(loadCompose(join(dir, 'app')), /is a directory/);
  });

  void it('stops reading a file past the size bound, even one that never ends', async () => {
    await assert.rejects(loadCompose('/dev/zero'), new RegExp(`larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`));
    await writeFile(join(dir, 'big.yml'), 'services:\n  web:\n    image: x\n    env_file: big.env\n');
    await writeFile(join(dir, 'big.env'), Buffer.alloc(MAX_FILE_BYTES + 1, 'a'));
    await assert.rejects(loadCompose(join(dir, 'big.yml')), /big\.env: larger than/);
  });

  void it('refuses a binary env file instead of sending mojibake', async () => {
    await writeFile(join(dir, 'bin.yml'), 'services:\n  web:\n    image: x\n    env_file: bin.env\n');
    await writeFile(join(dir, 'bin.env'), Buffer.from([0x41, 0xff, 0xfe, 0x42]));
    await assert.rejects(loadCompose(join(dir, 'bin.yml')), /bin\.env: not UTF-8 text/);
  });
});

void describe('formatComposeErrors', () => {
  void it('prints file:line: path: message, like a compiler, without a line when there is none', () => {
    const out = formatComposeErrors('deploy/compose.yml', [
      { path: 'services.web.ports[1]', line: 12, message: "invalid port 'abc'" },
      { path: 'services.db', line: null, message: 'image is required' },
      { path: '', line: 1, message: 'not a mapping\nat all' },
    ]);
    assert.equal(
      out,
      "deploy/compose.yml:12: services.web.ports[1]: invalid port 'abc'\n" + //
        'deploy/compose.yml: services.db: image is required\n' +
        'deploy/compose.yml:1: not a mapping at all\n',
    );
  });

  void it('keeps terminal control characters from the hub off the screen', () => {
    assert.ok(!formatComposeErrors('c.yml', [{ path: 'x\u001b[2J', line: 1, message: 'm\u0007' }]).includes('\u001b'));
  });
});
