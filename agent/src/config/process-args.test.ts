import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandLineWithoutToken } from './process-args.js';

void test('--token values are replaced in both forms; everything else, --token-file included, is kept', () => {
  const prefix = ['node', '/app/agent/dist/main.js'];
  assert.equal(
    commandLineWithoutToken(prefix, ['--hub', 'https://hub', '--token', 'pf_tok_secret1', '--data-dir', '/d']),
    'node /app/agent/dist/main.js --hub https://hub --token [hidden] --data-dir /d',
  );
  assert.equal(commandLineWithoutToken(prefix, ['--token=pf_tok_secret1', '--name', 'pi']), 'node /app/agent/dist/main.js --token=[hidden] --name pi');
  assert.equal(commandLineWithoutToken(prefix, ['--token-file', '/run/token', '--token-file=/x']), 'node /app/agent/dist/main.js --token-file /run/token --token-file=/x');
});
