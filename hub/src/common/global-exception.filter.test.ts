import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ArgumentsHost } from '@nestjs/common';
import { DrizzleQueryError } from 'drizzle-orm';
import type { Logger } from 'pino';
import { DomainError } from './errors.js';
import { GlobalExceptionFilter } from './global-exception.filter.js';
import { MetricsService } from './metrics.service.js';

/** Runs one error through the filter; returns the answer and what was logged, by level. */
function answer(err: unknown): { status: number; body: { code: string; message: string }; logs: Record<string, unknown[][]> } {
  const logs: Record<string, unknown[][]> = { error: [], warn: [], info: [] };
  const log = Object.fromEntries(Object.keys(logs).map((l) => [l, (...args: unknown[]) => logs[l]!.push(args)])) as unknown as Logger;
  const out = { status: 0, body: { code: '', message: '' } };
  const res = {
    headersSent: false,
    status(s: number) {
      out.status = s;
      return this;
    },
    json(b: { code: string; message: string }) {
      out.body = b;
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => res, getRequest: () => ({ method: 'POST', path: '/api/x' }) }) } as unknown as ArgumentsHost;
  new GlobalExceptionFilter(log, new MetricsService()).catch(err, host);
  return { ...out, logs };
}

function pgError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

test('429 too_many_requests is a domain code with its own status', () => {
  const r = answer(new DomainError('too_many_requests', 'slow down'));
  assert.equal(r.status, 429);
  assert.deepEqual(r.body, { code: 'too_many_requests', message: 'slow down' });
});

test('text the database cannot store is a 400, logged at warn without the query values', () => {
  for (const code of ['22021', '22P05']) {
    const err = new DrizzleQueryError('select $1', ['secret\u0000value'], pgError(code, 'invalid byte sequence for encoding "UTF8": 0x00'));
    const r = answer(err);
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'bad_request');
    assert.equal(r.logs['error']!.length, 0);
    assert.equal(r.logs['warn']!.length, 1);
    assert.ok(!JSON.stringify(r.logs).includes('secret'));
  }
});

test('an unhandled query error is a 500 logged with its SQL and cause but not its bound values', () => {
  const err = new DrizzleQueryError('insert into users values ($1, $2)', ['alice', '$2a$10$hashhashhash'], pgError('42P01', 'relation "users" does not exist'));
  const r = answer(err);
  assert.equal(r.status, 500);
  assert.deepEqual(r.body, { code: 'internal', message: 'internal error' });
  const logged = JSON.stringify(r.logs['error']);
  assert.match(logged, /insert into users/);
  assert.match(logged, /relation \\"users\\" does not exist/);
  assert.match(logged, /42P01/);
  assert.ok(!logged.includes('hashhash') && !logged.includes('alice'), logged);
});
