import { basename } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { relativeTime } from '../duration.js';
import { formatBytes, openArchive, ProgressLine } from '../image-upload.js';
import { ImageBundleSchema, type ImageBundle } from '../schemas.js';
import { authedClient, type Io } from '../session.js';
import { renderFields, renderTable } from '../table.js';

interface ImagesOptions {
  hub?: string;
  json?: boolean;
}

function isTerminal(out: object): boolean {
  return 'isTTY' in out && out.isTTY === true;
}

export function bundleDetails(b: ImageBundle, now: Date): string {
  return renderFields([
    ['ID', b.id],
    ['Refs', b.refs.length > 0 ? b.refs.join(', ') : '-'],
    ['Size', `${formatBytes(b.size)} (${b.size} bytes, ${b.chunkCount} chunks)`],
    ['SHA256', b.sha256],
    ['Uploaded', `${b.createdAt} (${relativeTime(b.createdAt, now)})${b.uploadedBy === null ? '' : ` by ${b.uploadedBy}`}`],
  ]);
}

export function registerImages(program: Command, io: Io): void {
  const images = program
    .command('images')
    .summary('image bundles for devices without a registry: push, list, rm')
    .description(
      'The hub keeps `docker save` archives and hands them to devices in checked chunks, for images ' +
        'that come from no registry. A compose service uses one by naming a ref the bundle holds.',
    );

  images
    .command('push')
    .description(
      'Upload a `docker save` archive (.tar, or .tar.gz compressed) to the hub; the file is streamed, ' +
        'never held in memory. On a terminal a progress line shows on stderr. Prints the bundle ' +
        '(ID, refs, size, sha256); --json prints the ImageBundle.',
    )
    .argument('<file>', 'image.tar or image.tar.gz')
    .option('--json', 'print JSON for scripts')
    .addHelpText('after', '\nExamples:\n  docker save sensor:1.2 -o sensor.tar && pifleet images push sensor.tar\n  pifleet images push sensor.tar.gz --json | jq -r .id')
    .action(async (file: string, _o: ImagesOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ImagesOptions>();
      const client = await authedClient(io, opts.hub);
      const archive = await openArchive(file);
      const progress = isTerminal(io.stderr) ? new ProgressLine(io.stderr, `Uploading ${basename(file)}`, archive.size) : undefined;
      let bundle: ImageBundle;
      try {
        bundle = await client.upload('/api/images', ImageBundleSchema, archive.chunks((sent) => progress?.update(sent)), archive.size);
      } finally {
        progress?.done();
        await archive.close();
      }
      io.stdout.write(opts.json ? JSON.stringify(bundle, null, 2) + '\n' : bundleDetails(bundle, io.now()));
    });

  images
    .command('list')
    .description('List image bundles: ID, REFS, SIZE, UPLOADED BY, CREATED. --json prints the ImageBundle array.')
    .option('--json', 'print JSON for scripts')
    .addHelpText('after', '\nExamples:\n  pifleet images list\n  pifleet images list --json | jq -r \'.[].refs[]\'')
    .action(async (_o: ImagesOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ImagesOptions>();
      const client = await authedClient(io, opts.hub);
      const list = await client.request('GET', '/api/images', z.array(ImageBundleSchema));
      if (opts.json) io.stdout.write(JSON.stringify(list, null, 2) + '\n');
      else if (list.length === 0) io.stdout.write('No image bundles.\n');
      else {
        const now = io.now();
        io.stdout.write(
          renderTable(
            ['ID', 'REFS', 'SIZE', 'UPLOADED BY', 'CREATED'],
            list.map((b) => [b.id, b.refs.join(','), formatBytes(b.size), b.uploadedBy ?? '-', relativeTime(b.createdAt, now)]),
          ),
        );
      }
    });

  images
    .command('rm')
    .description('Delete an image bundle. The hub refuses (409) while a release still uses it.')
    .argument('<id>', 'bundle id (from `images list`)')
    .option('--json', 'print the deleted bundle as JSON')
    .addHelpText('after', '\nExample:\n  pifleet images rm 01j9x3k2m4')
    .action(async (id: string, _o: ImagesOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ImagesOptions>();
      const client = await authedClient(io, opts.hub);
      const b = await client.request('DELETE', `/api/images/${encodeURIComponent(id)}`, ImageBundleSchema);
      io.stdout.write(opts.json ? JSON.stringify(b, null, 2) + '\n' : `Deleted image bundle ${b.id} (${b.refs.join(', ') || 'no refs'}, ${formatBytes(b.size)}).\n`);
    });
}
