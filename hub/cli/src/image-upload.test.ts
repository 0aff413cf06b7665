import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { EXIT, type CliError } from './errors.js';
import { archiveKind, CHUNK_BYTES, formatBytes, openArchive, ProgressLine } from './image-upload.js';

/** A 512-byte tar header block with the ustar magic, as `docker save` writes. */
function tarHeader(): Buffer {
  const h = Buffer.alloc(512);
  h.write('manifest.json', 0, 'latin1');
  h.write('ustar\u000000', 257, 'latin1');
  return h;
}

void describe('image archives', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pifleet-images-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  void it('tells a tar and a gzip file from anything else by their first bytes', () => {
    assert.equal(archiveKind(tarHeader()), 'tar');
    assert.equal(archiveKind(gzipSync(Buffer.from('x'))), 'gzip');
    assert.equal(archiveKind(Buffer.from('{"not": "an archive"}')), undefined);
    assert.equal(archiveKind(Buffer.alloc(0)), undefined);
  });

  void it('reads the whole file in bounded chunks, reporting progress', async () => {
    const body = Buffer.concat([tarHeader(), Buffer.alloc(CHUNK_BYTES * 2 + 1234, 7)]);
    const file = join(dir, 'img.tar');
    await writeFile(file, body);
    const a = await openArchive(file);
    assert.equal(a.kind, 'tar');
    assert.equal(a.size, body.length);
    const seen: number[] = [];
    const parts: Buffer[] = [];
    for await (const c of a.chunks((n) => seen.push(n))) {
      assert.ok(c.length <= CHUNK_BYTES);
      parts.push(Buffer.from(c));
    }
    await a.close();
    assert.ok(Buffer.concat(parts).equals(body));
    assert.deepEqual(seen, [CHUNK_BYTES, 2 * CHUNK_BYTES, body.length]);
  });

  void it('refuses a file that is not an archive, or is missing, as a usage error before any upload', async () => {
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'hello');
    await assert.rejects(openArchive(file), (e: CliError) => e.exitCode === EXIT.usage && /neither a tar archive nor gzip-compressed/.test(e.message));
    await assert.rejects(openArchive(join(dir, 'gone.tar')), (e: CliError) => e.exitCode === EXIT.usage && /no such file/.test(e.message));
    await assert.rejects(openArchive(dir), /not a regular file/);
  });

  void it('formats sizes in binary units', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(12.3 * 1024 * 1024), '12.3 MiB');
  });

  void it('redraws the progress line in place at most every interval, always at the end, and erases it', () => {
    let out = '';
    let t = 0;
    const p = new ProgressLine({ write: (s: string) => (out += s) }, 'Uploading a.tar', 2048, () => t, 100);
    p.update(512);
    t = 50;
    p.update(1024); // too soon: skipped
    t = 60;
    p.update(2048); // the end is always drawn
    p.done();
    assert.equal(out, '\rUploading a.tar: 512 B / 2.0 KiB (25%)\u001b[K\rUploading a.tar: 2.0 KiB / 2.0 KiB (100%)\u001b[K\r\u001b[K');
  });
});
