import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, openSync, readFileSync, readSync, closeSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Docker from 'dockerode';
import { tar, type TarEntry } from './tar.js';

/**
 * Test images, built once and cached outside the clone by the hash of what goes into them:
 * a root filesystem holding only a static busybox (sh, httpd, nc, sleep, ... as symlinks), so
 * every test behaviour is an `sh -c` command and no registry is needed. The first build imports
 * the rootfs through the engine API and saves the image as a `docker save` archive to
 * <cache>/<hash>.tar; a fresh store then only loads that archive (well under a second).
 */

/** Bump when the recipe below changes, so old caches are not reused. */
const RECIPE = 'busybox-rootfs-v1';
const REPO_NAME = 'localhost/pifleet-test/busybox';

export const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

export function cacheDir(): string {
  const base = process.env['PIFLEET_TEST_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'pifleet');
  return join(base, 'test-images');
}

/** True when the ELF file has no program interpreter (is statically linked). */
export function isStaticElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const h = Buffer.alloc(64);
    readSync(fd, h, 0, 64, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46) return false;
    const is64 = h[4] === 2;
    const le = h[5] === 1;
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const phoff = is64 ? Number(le ? h.readBigUInt64LE(0x20) : h.readBigUInt64BE(0x20)) : u32(h, 0x1c);
    const phentsize = u16(h, is64 ? 0x36 : 0x2a);
    const phnum = u16(h, is64 ? 0x38 : 0x2c);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (u32(ph, i * phentsize) === 3 /* PT_INTERP */) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}

/** The static busybox to build from (Debian's busybox-static), or undefined. */
export function findStaticBusybox(): string | undefined {
  const explicit = process.env['PIFLEET_TEST_BUSYBOX'];
  for (const p of explicit ? [explicit] : BUSYBOX_CANDIDATES) {
    try {
      if (existsSync(p) && isStaticElf(p)) return p;
    } catch {
      // unreadable: try the next
    }
  }
  return undefined;
}

interface Recipe {
  hash: string;
  ref: string;
  rootfs: () => Buffer;
}

function busyboxRecipe(busybox: string): Recipe {
  const bin = readFileSync(busybox);
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => /^[a-z0-9_.[-]+$/i.test(s) && s !== 'busybox')
    .sort();
  const hash = createHash('sha256').update(RECIPE).update('\0').update(bin).update('\0').update(applets.join('\n')).digest('hex');
  const rootfs = (): Buffer => {
    const entries: TarEntry[] = [
      ...['bin', 'dev', 'etc', 'proc', 'sys', 'root', 'var', 'var/www'].map((path): TarEntry => ({ type: 'dir', path })),
      { type: 'dir', path: 'tmp', mode: 0o1777 },
      { type: 'file', path: 'bin/busybox', mode: 0o755, data: bin },
      ...applets.map((a): TarEntry => ({ type: 'symlink', path: `bin/${a}`, target: 'busybox' })),
      { type: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n') },
      { type: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
    ];
    return tar(entries);
  };
  return { hash, ref: `${REPO_NAME}:${hash.slice(0, 12)}`, rootfs };
}

async function drain(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const c of stream as AsyncIterable<Buffer>) text = (text + c.toString()).slice(-64 * 1024);
  const err = /"error"\s*:\s*"([^"]*)"/.exec(text);
  if (err) throw new Error(err[1]);
  return text;
}

async function hasImage(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Builds the image in the engine from the rootfs and saves it to the cache (atomically). */
async function build(docker: Docker, r: Recipe, file: string): Promise<void> {
  const [repo, tag] = [REPO_NAME, r.ref.slice(REPO_NAME.length + 1)];
  const out = await drain(await docker.importImage(Readable.from([r.rootfs()]), { repo, tag, changes: ['CMD ["/bin/sh"]', 'ENV PATH=/bin'] } as object));
  const id = /"(?:status|id)"\s*:\s*"(sha256:[0-9a-f]{64})"/.exec(out)?.[1];
  if (!id) throw new Error(`image import gave no image id: ${out.slice(0, 500)}`);
  // Podman's import ignores `tag` (the image lands as repo:latest): tag by id, then drop the stray tag.
  await docker.getImage(id).tag({ repo, tag });
  if (tag !== 'latest') {
    const latest = await docker
      .getImage(`${repo}:latest`)
      .inspect()
      .catch(() => undefined);
    if (latest?.Id === id) await docker.getImage(`${repo}:latest`).remove({ noprune: true });
  }
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await pipeline(await docker.getImage(r.ref).get(), createWriteStream(tmp));
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

export interface TestImages {
  busybox: string;
}

/**
 * Makes the test images present in the engine at `socketPath`: already there, loaded from the
 * cache, or built (and cached) from the machine's static busybox.
 */
export async function ensureTestImages(socketPath: string): Promise<TestImages> {
  const busybox = findStaticBusybox();
  if (!busybox) throw new Error('no static busybox found (install: apt-get install busybox-static)');
  const r = busyboxRecipe(busybox);
  const docker = new Docker({ socketPath });
  if (await hasImage(docker, r.ref)) return { busybox: r.ref };
  const file = join(cacheDir(), `${r.hash}.tar`);
  if (existsSync(file)) {
    try {
      await drain(await docker.loadImage(createReadStream(file)));
      if (await hasImage(docker, r.ref)) return { busybox: r.ref };
    } catch {
      // A damaged cache file: build again below, which replaces it.
    }
  }
  await build(docker, r, file);
  return { busybox: r.ref };
}
