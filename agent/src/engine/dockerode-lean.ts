import { createRequire } from 'node:module';
import type DockerType from 'dockerode';

/**
 * dockerode, loaded without the two dependencies the agent never uses, which cost about 12 MiB
 * of a Pi's memory at load time: gRPC (`@grpc/grpc-js`, `@grpc/proto-loader`), which dockerode
 * requires eagerly for BuildKit sessions (the agent never builds images), and `ssh2`, which
 * docker-modem requires eagerly for `ssh://` engine addresses (engine discovery refuses those).
 * Each is put in the CommonJS module cache as an empty module before dockerode loads, so the
 * eager `require`s find it there; a code path that did reach one would fail at once with a
 * TypeError rather than misbehave quietly.
 */
const require = createRequire(import.meta.url);

function stub(fromPackage: string, moduleName: string): void {
  try {
    const path = createRequire(require.resolve(fromPackage)).resolve(moduleName);
    require.cache[path] ??= Object.assign(Object.create(null) as NodeJS.Module, { id: path, filename: path, loaded: true, exports: {}, children: [], paths: [] });
  } catch {
    // Not installed where expected (another dockerode layout): load it normally.
  }
}

stub('dockerode', '@grpc/grpc-js');
stub('dockerode', '@grpc/proto-loader');
stub('docker-modem', 'ssh2');

export const Dockerode = require('dockerode') as typeof DockerType;
