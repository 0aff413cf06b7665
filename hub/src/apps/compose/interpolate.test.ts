import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpolate, templateReferences } from './interpolate.js';

const vars: Record<string, string> = { SET: 'value', EMPTY: '', PORT: '8080', HOST: 'pi', lower_case: 'lc' };
const lookup = (n: string) => (Object.hasOwn(vars, n) ? vars[n] : undefined);

void test('interpolation substitutes as Compose does', () => {
  const cases: [string, string][] = [
    ['plain text', 'plain text'],
    ['$SET', 'value'],
    ['${SET}', 'value'],
    ['a${SET}b', 'avalueb'],
    ['$SET-suffix', 'value-suffix'],
    ['$lower_case', 'lc'],
    ['${HOST}:${PORT}', 'pi:8080'],
    ['$$', '$'],
    ['$$SET', '$SET'],
    ['$${SET}', '${SET}'],
    ['cost: 5$', 'cost: 5$'],
    ['$1 and $ and $-', '$1 and $ and $-'],
    // :- and - (default when unset or empty / only when unset)
    ['${UNSET:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${SET:-fallback}', 'value'],
    ['${UNSET-fallback}', 'fallback'],
    ['${EMPTY-fallback}', ''],
    ['${UNSET:-}', ''],
    ['${UNSET:-a b:c}', 'a b:c'],
    // :+ and + (alternative when set and non-empty / when set)
    ['${SET:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${UNSET:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    // ? and :? pass through a present value
    ['${SET:?must be set}', 'value'],
    ['${EMPTY?must be set}', ''],
    // nested defaults, evaluated only when used
    ['${UNSET:-${PORT}}', '8080'],
    ['${UNSET:-${ALSO_UNSET:-deep}}', 'deep'],
    ['${SET:-${NEVER_LOOKED_UP}}', 'value'],
    ['${UNSET:-{braces}}', '{braces}'],
    ['${UNSET:-$$}', '$'],
  ];
  for (const [template, expected] of cases) {
    const r = interpolate(template, lookup);
    assert.deepEqual(r, { ok: true, value: expected }, template);
  }
});

void test('interpolation errors name the variable and say what is wrong', () => {
  const cases: [string, string, RegExp][] = [
    ['${UNSET}', 'unset', /^variable UNSET is unset/],
    ['$UNSET', 'unset', /^variable UNSET is unset .*\$\{UNSET:-value\}/],
    ['${UNSET:-${INNER}}', 'unset', /^variable INNER is unset/],
    ['${UNSET:?set the password}', 'required', /^variable UNSET is unset and required: set the password$/],
    ['${EMPTY:?}', 'required', /^variable EMPTY is empty and required$/],
    ['${UNSET?}', 'required', /^variable UNSET is unset and required$/],
    ['${UNSET:?port ${PORT} needs it}', 'required', /required: port 8080 needs it$/],
    ['${', 'invalid', /invalid interpolation .*must be followed by a variable name.*\$\$ for a literal/],
    ['${}', 'invalid', /must be followed by a variable name/],
    ['${1A}', 'invalid', /must be followed by a variable name/],
    ['${SET', 'invalid', /missing \}/],
    ['${SET:-open', 'invalid', /missing \}/],
    ['${SET!}', 'invalid', /unexpected "!" after \$\{SET/],
    ['${SET:x}', 'invalid', /unexpected ":" after \$\{SET/],
  ];
  for (const [template, kind, message] of cases) {
    const r = interpolate(template, lookup);
    assert.equal(r.ok, false, template);
    if (r.ok) continue;
    assert.equal(r.kind, kind, template);
    assert.match(r.message, message, template);
    if (r.kind !== 'invalid') assert.ok(template.includes(r.variable), template);
  }
});

void test('interpolation is bounded in nesting and in output length', () => {
  const deep = `${'${A:-'.repeat(40)}x${'}'.repeat(40)}`;
  const r = interpolate(deep, lookup);
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.message, /nested deeper/);
  const big = { BIG: 'x'.repeat(40_000) };
  const r2 = interpolate('${BIG}${BIG}', (n) => big[n as 'BIG']);
  assert.equal(r2.ok, false);
  assert.match(r2.ok ? '' : r2.message, /longer than 65536/);
});

void test('templateReferences lists the variables with whether an unset one fails', () => {
  assert.deepEqual(templateReferences('no vars'), []);
  assert.deepEqual(templateReferences('$A ${B} ${C:-x} ${D-x} ${E:?m} ${F?m} ${G:+x} ${H+x} $$I'), [
    { name: 'A', required: true },
    { name: 'B', required: true },
    { name: 'C', required: false },
    { name: 'D', required: false },
    { name: 'E', required: true },
    { name: 'F', required: true },
    { name: 'G', required: false },
    { name: 'H', required: false },
  ]);
  assert.deepEqual(templateReferences('${A:-${B}}'), [
    { name: 'A', required: false },
    { name: 'B', required: false },
  ]);
  assert.deepEqual(templateReferences('${broken'), []);
});
