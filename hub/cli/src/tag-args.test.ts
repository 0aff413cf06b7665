import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from './errors.js';
import { parseTagArgs } from './tag-args.js';

void describe('parseTagArgs', () => {
  void it('adds +tag and bare tags, removes -tag, keeping the rest of the set', () => {
    assert.deepEqual(parseTagArgs(['+a', 'b', '-c'], false), { addTags: ['a', 'b'], removeTags: ['c'] });
  });

  void it('drops duplicates', () => {
    assert.deepEqual(parseTagArgs(['a', '+a', '-b', '-b'], false), { addTags: ['a'], removeTags: ['b'] });
  });

  void it('replaces the whole set with --clear, and --clear alone empties it', () => {
    assert.deepEqual(parseTagArgs(['x', '+y'], true), { tags: ['x', 'y'] });
    assert.deepEqual(parseTagArgs([], true), { tags: [] });
  });

  void it('rejects contradictions and no-ops as usage errors', () => {
    const usage = { exitCode: EXIT.usage };
    assert.throws(() => parseTagArgs([], false), { ...usage, message: /nothing to change/ });
    assert.throws(() => parseTagArgs(['+a', '-a'], false), { ...usage, message: /both added and removed/ });
    assert.throws(() => parseTagArgs(['-a'], true), usage);
    assert.throws(() => parseTagArgs(['+'], false), { ...usage, message: /empty tag/ });
  });
});
