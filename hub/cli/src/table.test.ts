import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderFields, renderTable } from './table.js';

void describe('renderTable', () => {
  void it('pads every column to its widest cell, two spaces apart, without trailing spaces', () => {
    const out = renderTable(
      ['NAME', 'ID', 'TAGS'],
      [
        ['kitchen-pi', 'abc', ''],
        ['pi', 'abcdef123456', 'a,b'],
      ],
    );
    assert.equal(
      out,
      'NAME        ID            TAGS\n' + //
        'kitchen-pi  abc\n' +
        'pi          abcdef123456  a,b\n',
    );
  });

  void it('prints only the header for no rows', () => {
    assert.equal(renderTable(['A', 'B'], []), 'A  B\n');
  });

  void it('neutralises terminal control characters coming from device data', () => {
    const out = renderTable(['NAME'], [['evil\u001b[2Jname']]);
    assert.ok(!out.includes('\u001b'));
    assert.match(out, /evil\?\[2Jname/);
  });

  void it('aligns by characters, not bytes', () => {
    const out = renderTable(['N', 'X'], [['é', '1'], ['ab', '2']]);
    assert.equal(out, 'N   X\né   1\nab  2\n');
  });
});

void describe('renderFields', () => {
  void it('aligns labels', () => {
    assert.equal(renderFields([['Name', 'pi'], ['Last seen', 'never']]), 'Name:       pi\nLast seen:  never\n');
  });
});
