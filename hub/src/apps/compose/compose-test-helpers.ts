import assert from 'node:assert/strict';
import { AppSpecSchema, type ServiceSpec } from '@pifleet/protocol';
import type { ComposeError } from '../../contract.js';
import { parseCompose, type ComposeApp, type ParseComposeOptions } from './parse-compose.js';

/** Shared by the compose parser's tests: build small files, parse them, assert on the outcome. */

/**
 * A file with one service `app` (image busybox) plus `fields` (one per line, written as they sit
 * under the service, without indentation) and `top` appended at the top level. The first field is
 * on line 4, so the test tables can state the lines their errors should name. Fields starting
 * with `image:` replace the default image (on line 3).
 */
export function oneService(fields: string, top = ''): string {
  if (fields.startsWith('image:')) {
    const [first, ...rest] = fields.split('\n');
    return `services:\n  app:\n    ${first}\n${indent(rest.join('\n'))}\n${top}`;
  }
  return `services:\n  app:\n    image: busybox\n${indent(fields)}\n${top}`;
}

function indent(fields: string): string {
  return fields
    .split('\n')
    .map((l) => (l ? `    ${l}` : l))
    .join('\n');
}

export function parseOk(text: string, opts: Partial<ParseComposeOptions> = {}): ComposeApp {
  const r = parseCompose(text, { vars: {}, ...opts });
  if (!r.ok) assert.fail(`expected the file to parse, got:\n${JSON.stringify(r.errors, null, 2)}\n--- file:\n${text}`);
  // The contract: once the hub adds the release, the result is a valid AppSpec as it stands.
  const checked = AppSpecSchema.safeParse({ ...r.app, release: 1 });
  assert.ok(checked.success, JSON.stringify(checked.error?.issues));
  assert.deepEqual(checked.data, { ...r.app, release: 1 }, 'the parser output is already normalised');
  return r.app;
}

export function service(text: string, opts: Partial<ParseComposeOptions> = {}): ServiceSpec {
  return parseOk(text, opts).services.app;
}

export function parseErrors(text: string, opts: Partial<ParseComposeOptions> = {}): ComposeError[] {
  const r = parseCompose(text, { vars: {}, ...opts });
  if (r.ok) assert.fail(`expected errors, the file parsed:\n${text}`);
  return r.errors;
}

export interface ExpectedError {
  path: string;
  line: number | null;
  message: RegExp;
}

/** Asserts that `text` fails with exactly the `expected` errors, in line order. */
export function assertErrors(text: string, expected: ExpectedError[], opts: Partial<ParseComposeOptions> = {}, label = text): void {
  const errors = parseErrors(text, opts);
  const show = JSON.stringify(errors, null, 1);
  assert.equal(errors.length, expected.length, `${label}\nerrors: ${show}`);
  expected.forEach((e, i) => {
    assert.equal(errors[i].path, e.path, `${label}\nerrors: ${show}`);
    assert.equal(errors[i].line, e.line, `${label}\nerrors: ${show}`);
    assert.match(errors[i].message, e.message, `${label}\nerrors: ${show}`);
  });
}
