import { after, before, test } from 'node:test';
import { checkBadInputRefused } from './bad-input-cases.js';
import { startTestHub, type TestHub } from './test-hub.js';

let t: TestHub;
before(async () => {
  t = await startTestHub();
});
after(async () => {
  await t?.close();
});

test('NUL, invalid UTF-8 and malformed cookies get a 400 (or are ignored), never a 500 or an error log', async () => {
  await checkBadInputRefused(t);
});
