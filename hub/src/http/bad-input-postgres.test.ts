import { test } from 'node:test';
import { checkBadInputRefused } from './bad-input-cases.js';
import { usePostgresTestHub } from './postgres-test-hub.js';

/**
 * The bad-input cases on a real PostgreSQL, which refuses NUL in text and jsonb with its own
 * errors (SQLSTATE 22021 / 22P05); the hub must refuse such input before it gets that far.
 */
const pgHub = usePostgresTestHub();

test('on a real PostgreSQL: NUL, invalid UTF-8 and malformed cookies get a 400 (or are ignored), never a 500', async (ctx) => {
  const t = pgHub.get(ctx);
  if (!t) return;
  await checkBadInputRefused(t);
});
