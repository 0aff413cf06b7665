import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDotenv } from './dotenv.js';

const vars: Record<string, string> = { FROM_VARS: 'v', OVERRIDE: 'from-vars' };
const lookup = (n: string) => (Object.hasOwn(vars, n) ? vars[n] : undefined);

void test('env files parse as Compose reads them', () => {
  const cases: [string, Record<string, string>][] = [
    ['A=1', { A: '1' }],
    ['A=1\nB=two words\n', { A: '1', B: 'two words' }],
    ['A=1\r\nB=2\r\n', { A: '1', B: '2' }],
    ['# comment\n\n   \nA=1\n  # indented comment\n', { A: '1' }],
    ['export A=1', { A: '1' }],
    ['exported=1', { exported: '1' }],
    ['A: yaml style', { A: 'yaml style' }],
    ['A = spaced', { A: 'spaced' }],
    ['A=', { A: '' }],
    ['A=value # comment', { A: 'value' }],
    ['A=value#not-a-comment', { A: 'value#not-a-comment' }],
    ['A=#notcomment', { A: '#notcomment' }],
    ['A=trailing   ', { A: 'trailing' }],
    ['A.b-c[0]=odd key', { 'A.b-c[0]': 'odd key' }],
    ['A=1\nA=2', { A: '2' }],
    // quotes
    ['A="double quoted"', { A: 'double quoted' }],
    ["A='single quoted'", { A: 'single quoted' }],
    ['A="with # hash" # comment', { A: 'with # hash' }],
    ['A="line1\\nline2\\ttab"', { A: 'line1\nline2\ttab' }],
    ["A='line1\\nline2'", { A: 'line1\\nline2' }],
    ['A="say \\"hi\\""', { A: 'say "hi"' }],
    ["A='it\\'s'", { A: "it's" }],
    ['A="back\\\\slash"', { A: 'back\\slash' }],
    ['A="multi\nline"', { A: 'multi\nline' }],
    ['A="\\0101"', { A: 'A' }],
    // interpolation: unquoted and double quoted, not single quoted
    ['A=$FROM_VARS', { A: 'v' }],
    ['A="${FROM_VARS}x"', { A: 'vx' }],
    ["A='${FROM_VARS}'", { A: '${FROM_VARS}' }],
    ['A="\\$FROM_VARS"', { A: '$FROM_VARS' }],
    ['A=$$FROM_VARS', { A: '$FROM_VARS' }],
    ['A=${MISSING:-dflt}', { A: 'dflt' }],
    ['A=1\nB=${A}2', { A: '1', B: '12' }],
    // the variables win over keys defined in the file when interpolating
    ['OVERRIDE=file\nB=$OVERRIDE', { OVERRIDE: 'file', B: 'from-vars' }],
    // KEY alone: from the variables, or left out
    ['FROM_VARS\nMISSING\nB=1', { FROM_VARS: 'v', B: '1' }],
  ];
  for (const [text, expected] of cases) {
    const r = parseDotenv(text, lookup);
    assert.deepEqual(r.issues, [], text);
    assert.deepEqual(Object.fromEntries(r.values), expected, text);
  }
});

void test('keys from earlier env files are visible to interpolation', () => {
  const r = parseDotenv('B=${A}-b', lookup, new Map([['A', 'a']]));
  assert.deepEqual(Object.fromEntries(r.values), { B: 'a-b' });
});

void test('env file errors carry the line inside the file', () => {
  const cases: [string, number, RegExp][] = [
    ['A=1\nB="open\nC=3', 2, /unterminated quoted value for B/],
    ['A=1\nB C=1', 2, /contains a space/],
    ['A=1\n\nB$=1', 3, /unexpected character "\$"/],
    ['=value', 1, /missing variable name/],
    ['A="x" trailing', 1, /unexpected text after the closing quote of A/],
    ['A=1\nB=${NOPE}', 2, /variable NOPE is unset/],
    ['A=1\nB="${NOPE:?needed}"', 2, /NOPE is unset and required: needed/],
    ['A="\\0000"', 1, /NUL/],
  ];
  for (const [text, line, message] of cases) {
    const r = parseDotenv(text, lookup);
    assert.equal(r.issues.length, 1, text);
    assert.equal(r.issues[0].line, line, text);
    assert.match(r.issues[0].message, message, text);
  }
});
