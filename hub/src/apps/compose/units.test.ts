import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shellSplit } from './shell-split.js';
import { parseBytes, parseDuration } from './units.js';

void test('durations read as Compose reads them, in milliseconds', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['10s', 10_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['2m3s4ms', 123_004],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['1500us', 1.5],
    ['2000000ns', 2],
    ['+5s', 5000],
  ];
  for (const [text, ms] of cases) assert.deepEqual(parseDuration(text), { ok: true, value: ms }, text);
  const bad: [string, RegExp][] = [
    ['10', /needs a unit, e\.g\. 10s/],
    ['', /empty/],
    ['-5s', /negative/],
    ['5x', /invalid duration/],
    ['s', /invalid duration/],
    ['1m 30s', /invalid duration/],
  ];
  for (const [text, message] of bad) {
    const r = parseDuration(text);
    assert.equal(r.ok, false, text);
    assert.match(r.ok ? '' : r.message, message, text);
  }
});

void test('sizes read as Docker reads them, in bytes (powers of 1024)', () => {
  const cases: [string, number][] = [
    ['1024', 1024],
    ['512m', 512 * 1024 ** 2],
    ['512M', 512 * 1024 ** 2],
    ['512mb', 512 * 1024 ** 2],
    ['512MiB', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['64k', 65_536],
    ['2 g', 2 * 1024 ** 3],
    ['100b', 100],
  ];
  for (const [text, bytes] of cases) assert.deepEqual(parseBytes(text), { ok: true, value: bytes }, text);
  for (const text of ['', 'big', '1x', '-1m', '1.2.3m', '1gg']) assert.equal(parseBytes(text).ok, false, text);
});

void test('command strings split into words like a POSIX shell without expansion', () => {
  const cases: [string, string[]][] = [
    ['', []],
    ['   ', []],
    ['echo hello', ['echo', 'hello']],
    ['  echo   hello  ', ['echo', 'hello']],
    ['nginx -g "daemon off;"', ['nginx', '-g', 'daemon off;']],
    ["sh -c 'echo $HOME && ls'", ['sh', '-c', 'echo $HOME && ls']],
    ['a\\ b c', ['a b', 'c']],
    ['"a\\"b" \'c\\d\'', ['a"b', 'c\\d']],
    ['"keep \\n backslash"', ['keep \\n backslash']],
    ["''", ['']],
    ['x""y', ['xy']],
    ['--opt=a"b c"d', ['--opt=ab cd']],
    ['tab\tseparated\nnewline', ['tab', 'separated', 'newline']],
    ['cost $5', ['cost', '$5']],
  ];
  for (const [text, words] of cases) assert.deepEqual(shellSplit(text), { ok: true, words }, text);
  const bad: [string, RegExp][] = [
    ['echo "open', /unterminated double quote/],
    ["echo 'open", /unterminated single quote/],
    ['echo a; echo b', /shell syntax ";"/],
    ['a && b', /shell syntax "&"/],
    ['cat x | grep y', /shell syntax "\|"/],
    ['echo > /tmp/x', /shell syntax ">"/],
    ['echo `date`', /shell syntax "`"/],
    ['echo $(date)', /shell syntax "\$\("/],
  ];
  for (const [text, message] of bad) {
    const r = shellSplit(text);
    assert.equal(r.ok, false, text);
    assert.match(r.ok ? '' : r.message, message, text);
    assert.match(r.ok ? '' : r.message, /"sh", "-c"|unterminated/, text);
  }
});
