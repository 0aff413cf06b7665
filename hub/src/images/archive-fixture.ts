import { createHash, randomBytes } from 'node:crypto';

/**
 * Test support (not a test): image archives written by hand, in the layout `docker save` uses
 * (manifest.json, a config JSON, one tar per layer), so the hub's checks can be exercised
 * without a container engine. The layers are random bytes, so gzip cannot shrink them away.
 */

/** One ustar header + data + padding. */
export function tarEntry(name: string, data: Buffer, type = '0'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  h.write('00000000000\0', 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad]);
}

export function tar(entries: { name: string; data: Buffer }[]): Buffer {
  return Buffer.concat([...entries.map((e) => tarEntry(e.name, e.data)), Buffer.alloc(1024)]);
}

export interface ArchiveOptions {
  refs?: string[];
  /** Bytes of random layer content (one layer); default 64 KiB. */
  layerBytes?: number;
  /** Leave the layer the manifest names out of the archive. */
  dropLayer?: boolean;
}

/** A docker-archive (`docker save` format) holding one image. */
export function dockerArchive(opts: ArchiveOptions = {}): Buffer {
  const layer = tar([{ name: 'payload.bin', data: randomBytes(opts.layerBytes ?? 64 * 1024) }]);
  const layerId = createHash('sha256').update(layer).digest('hex');
  const config = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${layerId}`] } }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  const manifest = [{ Config: configName, RepoTags: opts.refs ?? ['example/app:1.0'], Layers: [`${layerId}/layer.tar`] }];
  const entries: { name: string; data: Buffer }[] = [
    { name: configName, data: config },
    { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) },
  ];
  if (!opts.dropLayer) entries.unshift({ name: `${layerId}/layer.tar`, data: layer });
  return tar(entries);
}

/** An OCI image archive (`podman save --format oci-archive`) naming `ref` in index.json. */
export function ociArchive(ref: string): Buffer {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [] }));
  const digest = createHash('sha256').update(manifest).digest('hex');
  const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${digest}`, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': ref } }] };
  return tar([
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: `blobs/sha256/${digest}`, data: manifest },
    { name: 'index.json', data: Buffer.from(JSON.stringify(index)) },
  ]);
}
