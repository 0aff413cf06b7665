import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceSpec } from '@pifleet/protocol';
import { oneService, parseOk, service } from './compose-test-helpers.js';
import { parseCompose, type ParseComposeOptions, type ParseComposeResult } from './parse-compose.js';

/** Every supported service field, in its short and long spellings, -> the normalised ServiceSpec. */

interface Row {
  name: string;
  fields: string;
  top?: string;
  opts?: Partial<ParseComposeOptions>;
  expect: Partial<ServiceSpec>;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const rows: Row[] = [
  // image and defaults
  { name: 'defaults', fields: '', expect: { image: 'busybox', environment: {}, ports: [], mounts: [], tmpfs: [], labels: {}, restart: 'no', stopGraceMs: 10_000, dependsOn: {}, networks: [], privileged: false, devices: [], capAdd: [], capDrop: [], init: false } },
  { name: 'image with registry, port, path, digest', fields: 'image: registry.local:5000/team/app:1.2@sha256:' + 'a'.repeat(64), expect: { image: 'registry.local:5000/team/app:1.2@sha256:' + 'a'.repeat(64) } },
  { name: 'image interpolated', fields: 'image: ghcr.io/acme/app:${TAG}', opts: { vars: { TAG: 'v3' } }, expect: { image: 'ghcr.io/acme/app:v3' } },

  // command / entrypoint
  { name: 'command string is split', fields: 'command: nginx -g "daemon off;"', expect: { command: ['nginx', '-g', 'daemon off;'] } },
  { name: 'command list is kept', fields: 'command: ["sh", "-c", "echo $$HOME; sleep 5"]', expect: { command: ['sh', '-c', 'echo $HOME; sleep 5'] } },
  { name: 'command list with a number', fields: 'command: [sleep, 10]', expect: { command: ['sleep', '10'] } },
  { name: 'empty command is unset', fields: 'command:', expect: { command: undefined } },
  { name: 'entrypoint string', fields: "entrypoint: /bin/sh -c 'exec app'", expect: { entrypoint: ['/bin/sh', '-c', 'exec app'] } },
  { name: 'entrypoint list', fields: 'entrypoint:\n  - /docker-entrypoint.sh\n  - --verbose', expect: { entrypoint: ['/docker-entrypoint.sh', '--verbose'] } },

  // environment
  { name: 'environment map, values stringified as written', fields: 'environment:\n  A: text\n  B: 42\n  C: true\n  D: 1.10\n  E: ""\n  F: 0x1F', expect: { environment: { A: 'text', B: '42', C: 'true', D: '1.10', E: '', F: '0x1F' } } },
  { name: 'environment list', fields: 'environment:\n  - A=1\n  - B=x=y\n  - C=', expect: { environment: { A: '1', B: 'x=y', C: '' } } },
  { name: 'environment bare key from variables, unset left out', fields: 'environment:\n  - FROM_VARS\n  - NOT_SET', opts: { vars: { FROM_VARS: 'v' } }, expect: { environment: { FROM_VARS: 'v' } } },
  { name: 'environment null value from variables, unset left out', fields: 'environment:\n  FROM_VARS:\n  NOT_SET:', opts: { vars: { FROM_VARS: 'v' } }, expect: { environment: { FROM_VARS: 'v' } } },
  { name: 'environment interpolated', fields: 'environment:\n  URL: http://${HOST}:${PORT:-80}/', opts: { vars: { HOST: 'db' } }, expect: { environment: { URL: 'http://db:80/' } } },
  { name: 'environment empty', fields: 'environment:', expect: { environment: {} } },

  // env_file
  { name: 'env_file string', fields: 'env_file: app.env', opts: { envFiles: { 'app.env': 'A=1\nB="two"\n' } }, expect: { environment: { A: '1', B: 'two' } } },
  { name: 'env_file list, later files win, environment wins over all', fields: 'env_file: [a.env, b.env]\nenvironment:\n  C: from-compose', opts: { envFiles: { 'a.env': 'A=a\nB=a\nC=a', 'b.env': 'B=b\nC=b' } }, expect: { environment: { A: 'a', B: 'b', C: 'from-compose' } } },
  { name: 'env_file long syntax, optional file missing', fields: 'env_file:\n  - path: ./base.env\n  - path: ./local.env\n    required: false', opts: { envFiles: { './base.env': 'A=1' } }, expect: { environment: { A: '1' } } },
  { name: 'env_file path interpolated', fields: 'env_file: ${SITE}.env', opts: { vars: { SITE: 'north' }, envFiles: { 'north.env': 'A=n' } }, expect: { environment: { A: 'n' } } },
  { name: 'env_file sees the variables and environment', fields: 'env_file: x.env\nenvironment:\n  BASE: /srv', opts: { vars: { V: 'var' }, envFiles: { 'x.env': 'P=${BASE}/data\nQ=$V' } }, expect: { environment: { BASE: '/srv', P: '/srv/data', Q: 'var' } } },

  // ports
  { name: 'port short forms', fields: 'ports:\n  - "8080:80"\n  - 127.0.0.1:8443:443/udp\n  - "9000"\n  - 53/udp\n  - 3000', expect: { ports: [{ target: 80, published: 8080, protocol: 'tcp' }, { target: 443, published: 8443, hostIp: '127.0.0.1', protocol: 'udp' }, { target: 9000, protocol: 'tcp' }, { target: 53, protocol: 'udp' }, { target: 3000, protocol: 'tcp' }] } },
  { name: 'port IPv6 host', fields: 'ports: ["[::1]:8080:80"]', expect: { ports: [{ target: 80, published: 8080, hostIp: '::1', protocol: 'tcp' }] } },
  { name: 'port ranges expanded', fields: 'ports: ["8000-8002:9000-9002", "7000-7001"]', expect: { ports: [{ target: 9000, published: 8000, protocol: 'tcp' }, { target: 9001, published: 8001, protocol: 'tcp' }, { target: 9002, published: 8002, protocol: 'tcp' }, { target: 7000, protocol: 'tcp' }, { target: 7001, protocol: 'tcp' }] } },
  { name: 'port long syntax', fields: 'ports:\n  - target: 80\n    published: "8080"\n    host_ip: 0.0.0.0\n    protocol: udp\n  - target: 81\n    published: 8081\n  - target: 82', expect: { ports: [{ target: 80, published: 8080, hostIp: '0.0.0.0', protocol: 'udp' }, { target: 81, published: 8081, protocol: 'tcp' }, { target: 82, protocol: 'tcp' }] } },
  { name: 'port interpolated', fields: 'ports: ["${PORT}:80"]', opts: { vars: { PORT: '8088' } }, expect: { ports: [{ target: 80, published: 8088, protocol: 'tcp' }] } },
  { name: 'same published port on tcp and udp', fields: 'ports: ["53:53/tcp", "53:53/udp"]', expect: { ports: [{ target: 53, published: 53, protocol: 'tcp' }, { target: 53, published: 53, protocol: 'udp' }] } },

  // volumes and tmpfs
  { name: 'volume short forms', fields: 'volumes:\n  - data:/var/lib/data\n  - /srv/conf:/etc/app:ro\n  - /srv/logs//:/logs/:rw\n  - data:/cache', top: 'volumes:\n  data:', expect: { mounts: [{ type: 'volume', source: 'data', target: '/var/lib/data', readOnly: false }, { type: 'bind', source: '/srv/conf', target: '/etc/app', readOnly: true }, { type: 'bind', source: '/srv/logs', target: '/logs', readOnly: false }, { type: 'volume', source: 'data', target: '/cache', readOnly: false }] } },
  { name: 'volume long forms', fields: 'volumes:\n  - type: volume\n    source: data\n    target: /data\n    read_only: true\n  - type: bind\n    source: /dev/shm\n    target: /shm\n  - type: tmpfs\n    target: /scratch\n    tmpfs:\n      size: 64m\n      mode: 1777\n  - type: tmpfs\n    target: /ro\n    read_only: true', top: 'volumes:\n  data: {}', expect: { mounts: [{ type: 'volume', source: 'data', target: '/data', readOnly: true }, { type: 'bind', source: '/dev/shm', target: '/shm', readOnly: false }], tmpfs: [`/scratch:size=${64 * MiB},mode=1777`, '/ro:ro'] } },
  { name: 'bind source interpolated', fields: 'volumes: ["${DATA_DIR}/db:/db"]', opts: { vars: { DATA_DIR: '/mnt/ssd' } }, expect: { mounts: [{ type: 'bind', source: '/mnt/ssd/db', target: '/db', readOnly: false }] } },
  { name: 'tmpfs string', fields: 'tmpfs: /run', expect: { tmpfs: ['/run'] } },
  { name: 'tmpfs list with options', fields: 'tmpfs:\n  - /run\n  - /tmp:size=64m,mode=1777', expect: { tmpfs: ['/run', '/tmp:size=64m,mode=1777'] } },

  // labels
  { name: 'labels map', fields: 'labels:\n  com.example.team: infra\n  com.example.n: 3\n  flag:', expect: { labels: { 'com.example.team': 'infra', 'com.example.n': '3', flag: '' } } },
  { name: 'labels list', fields: 'labels:\n  - com.example.team=infra\n  - flag', expect: { labels: { 'com.example.team': 'infra', flag: '' } } },

  // restart
  ...(['no', 'always', 'unless-stopped', 'on-failure'] as const).map((p) => ({ name: `restart ${p}`, fields: `restart: "${p}"`, expect: { restart: p } })),
  { name: 'restart no unquoted (YAML 1.2 keeps it a string)', fields: 'restart: no', expect: { restart: 'no' } },
  { name: 'restart on-failure:N', fields: 'restart: on-failure:5', expect: { restart: 'on-failure' } },

  // healthcheck
  { name: 'healthcheck string test -> CMD-SHELL, durations', fields: 'healthcheck:\n  test: curl -f http://localhost/ || exit 1\n  interval: 1m30s\n  timeout: 10s\n  start_period: 500ms\n  retries: 5', expect: { healthcheck: { test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], intervalMs: 90_000, timeoutMs: 10_000, startPeriodMs: 500, retries: 5 } } },
  { name: 'healthcheck CMD list with defaults', fields: 'healthcheck:\n  test: ["CMD", "pg_isready", "-U", "app"]', expect: { healthcheck: { test: ['CMD', 'pg_isready', '-U', 'app'], intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, retries: 3 } } },
  { name: 'healthcheck CMD-SHELL list', fields: 'healthcheck:\n  test: [CMD-SHELL, "redis-cli ping | grep PONG"]', expect: { healthcheck: { test: ['CMD-SHELL', 'redis-cli ping | grep PONG'], intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, retries: 3 } } },
  { name: 'healthcheck disable', fields: 'healthcheck:\n  disable: true', expect: { healthcheck: null } },
  { name: 'healthcheck NONE', fields: 'healthcheck:\n  test: ["NONE"]', expect: { healthcheck: null } },
  { name: 'healthcheck disable: false keeps the test', fields: 'healthcheck:\n  disable: false\n  test: true', expect: { healthcheck: { test: ['CMD-SHELL', 'true'], intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, retries: 3 } } },
  { name: 'healthcheck absent', fields: '', expect: { healthcheck: undefined } },

  // stop
  { name: 'stop_signal and stop_grace_period', fields: 'stop_signal: SIGINT\nstop_grace_period: 1m', expect: { stopSignal: 'SIGINT', stopGraceMs: 60_000 } },
  { name: 'stop_signal by number', fields: 'stop_signal: 15', expect: { stopSignal: '15' } },

  // resources
  { name: 'mem_limit with unit', fields: 'mem_limit: 512m', expect: { memLimitBytes: 512 * MiB } },
  { name: 'mem_limit 1g', fields: 'mem_limit: 1g', expect: { memLimitBytes: GiB } },
  { name: 'mem_limit bytes', fields: 'mem_limit: 134217728', expect: { memLimitBytes: 128 * MiB } },
  { name: 'mem_limit 0 = none', fields: 'mem_limit: 0', expect: { memLimitBytes: undefined } },
  { name: 'cpus number', fields: 'cpus: 1.5', expect: { nanoCpus: 1_500_000_000 } },
  { name: 'cpus string', fields: 'cpus: "0.25"', expect: { nanoCpus: 250_000_000 } },
  { name: 'cpus interpolated', fields: 'cpus: ${CPUS}', opts: { vars: { CPUS: '2' } }, expect: { nanoCpus: 2_000_000_000 } },
  { name: 'deploy limits', fields: 'deploy:\n  resources:\n    limits:\n      memory: 256M\n      cpus: "0.5"', expect: { memLimitBytes: 256 * MiB, nanoCpus: 500_000_000 } },
  { name: 'deploy limits equal to mem_limit/cpus', fields: 'mem_limit: 256m\ncpus: 0.5\ndeploy:\n  resources:\n    limits:\n      memory: 268435456\n      cpus: 0.5', expect: { memLimitBytes: 256 * MiB, nanoCpus: 500_000_000 } },

  // networking
  { name: 'network_mode host', fields: 'network_mode: host', expect: { networkMode: 'host', networks: [] } },
  { name: 'network_mode none', fields: 'network_mode: none', expect: { networkMode: 'none' } },
  { name: 'network_mode bridge with ports', fields: 'network_mode: bridge\nports: ["80:80"]', expect: { networkMode: 'bridge', ports: [{ target: 80, published: 80, protocol: 'tcp' }] } },
  { name: 'networks list', fields: 'networks: [front, back]', top: 'networks:\n  front:\n  back:', expect: { networks: ['front', 'back'] } },
  { name: 'networks map with empty values', fields: 'networks:\n  front:\n  back: {}\n  default:', top: 'networks:\n  front:\n  back:', expect: { networks: ['front', 'back', 'default'] } },

  // flags and the rest
  { name: 'privileged and init', fields: 'privileged: true\ninit: true', expect: { privileged: true, init: true } },
  { name: 'booleans from interpolation', fields: 'privileged: ${PRIV}\ninit: "false"', opts: { vars: { PRIV: 'true' } }, expect: { privileged: true, init: false } },
  { name: 'devices', fields: 'devices:\n  - /dev/ttyUSB0\n  - /dev/ttyACM0:/dev/serial\n  - /dev/i2c-1:/dev/i2c-1:rw\n  - /dev/gpiomem:r', expect: { devices: [{ host: '/dev/ttyUSB0', container: '/dev/ttyUSB0', permissions: 'rwm' }, { host: '/dev/ttyACM0', container: '/dev/serial', permissions: 'rwm' }, { host: '/dev/i2c-1', container: '/dev/i2c-1', permissions: 'rw' }, { host: '/dev/gpiomem', container: '/dev/gpiomem', permissions: 'r' }] } },
  { name: 'cap_add / cap_drop', fields: 'cap_add: [NET_ADMIN, SYS_TIME]\ncap_drop: [ALL]', expect: { capAdd: ['NET_ADMIN', 'SYS_TIME'], capDrop: ['ALL'] } },
  { name: 'user and working_dir', fields: 'user: "1000:1000"\nworking_dir: /app', expect: { user: '1000:1000', workingDir: '/app' } },
  { name: 'user as a number', fields: 'user: 1000', expect: { user: '1000' } },

  // x-pifleet
  { name: 'x-pifleet defaults', fields: '', expect: { supervision: { startSecs: 10, startRetries: 5, successExitCodes: [0], fatalExitCodes: [], restartUnhealthy: true, unhealthyGraceSecs: 30 } } },
  { name: 'x-pifleet set', fields: 'x-pifleet:\n  startSecs: 2.5\n  startRetries: 0\n  successExitCodes: [0, 3]\n  fatalExitCodes: [78]\n  restartUnhealthy: false\n  unhealthyGraceSecs: 120', expect: { supervision: { startSecs: 2.5, startRetries: 0, successExitCodes: [0, 3], fatalExitCodes: [78], restartUnhealthy: false, unhealthyGraceSecs: 120 } } },
  { name: 'x-pifleet partly set, interpolated', fields: 'x-pifleet:\n  startRetries: ${RETRIES}', opts: { vars: { RETRIES: '9' } }, expect: { supervision: { startSecs: 10, startRetries: 9, successExitCodes: [0], fatalExitCodes: [], restartUnhealthy: true, unhealthyGraceSecs: 30 } } },
  { name: 'other x- keys in a service are ignored', fields: 'x-notes: anything\nx-other: { a: 1 }', expect: { image: 'busybox' } },
];

void test('service fields normalise to ServiceSpec', () => {
  for (const row of rows) {
    const spec = service(oneService(row.fields, row.top), row.opts);
    for (const [key, value] of Object.entries(row.expect)) {
      assert.deepEqual(spec[key as keyof ServiceSpec], value, `${row.name}: ${key}`);
    }
  }
});

void test('depends_on: list and map forms, and network_mode service: adds a dependency', () => {
  const app = parseOk(`services:
  web:
    image: nginx
    depends_on: [db, cache]
  worker:
    image: busybox
    depends_on:
      db:
        condition: service_healthy
        required: true
        restart: false
      migrate:
        condition: service_completed_successfully
      cache:
  sidecar:
    image: busybox
    network_mode: service:web
  db:
    image: postgres:16
    healthcheck:
      test: pg_isready
  cache:
    image: redis
  migrate:
    image: busybox
`);
  assert.deepEqual(app.services.web.dependsOn, { db: 'service_started', cache: 'service_started' });
  assert.deepEqual(app.services.worker.dependsOn, { db: 'service_healthy', migrate: 'service_completed_successfully', cache: 'service_started' });
  assert.deepEqual(app.services.sidecar.dependsOn, { web: 'service_started' });
  assert.equal(app.services.sidecar.networkMode, 'service:web');
});

void test('top level: name, version, x- blocks, volumes and networks with labels', () => {
  const text = `version: "3.8"
name: weather
x-defaults: &defaults
  restart: always
  labels:
    com.example.app: weather
services:
  app:
    <<: *defaults
    image: busybox
volumes:
  data:
    labels:
      com.example.backup: "true"
  cache: {}
  empty:
networks:
  back:
    driver: bridge
    internal: true
    labels: [com.example.tier=back]
  front: {}
  default:
    internal: false
`;
  const r = parseOk(text);
  assert.deepEqual(r.volumes, { data: { labels: { 'com.example.backup': 'true' } }, cache: { labels: {} }, empty: { labels: {} } });
  assert.deepEqual(r.networks, {
    back: { internal: true, labels: { 'com.example.tier': 'back' } },
    front: { internal: false, labels: {} },
    default: { internal: false, labels: {} },
  });
  assert.equal(r.services.app.restart, 'always');
  assert.deepEqual(r.services.app.labels, { 'com.example.app': 'weather' });
});

void test('YAML anchors, aliases and merge keys: explicit keys win, the first merged map wins', () => {
  const app = parseOk(`x-env: &env
  A: from-anchor
  B: from-anchor
x-env2: &env2
  B: from-second
  C: from-second
x-hc: &hc
  test: true
  interval: 5s
services:
  app:
    image: busybox
    environment:
      <<: [*env, *env2]
      A: explicit
    healthcheck: *hc
  other:
    image: busybox
    healthcheck:
      <<: *hc
      interval: 7s
`);
  assert.deepEqual(app.services.app.environment, { A: 'explicit', B: 'from-anchor', C: 'from-second' });
  assert.equal(app.services.app.healthcheck?.intervalMs, 5000);
  assert.equal(app.services.other.healthcheck?.intervalMs, 7000);
});

void test('the app name: the request wins over the file, else the file, else null', () => {
  const text = 'name: ${SITE}-app\nservices:\n  app:\n    image: busybox\n';
  assert.deepEqual(pick(parseCompose(text, { vars: { SITE: 'north' } })), { ok: true, name: 'north-app' });
  assert.deepEqual(pick(parseCompose(text, { vars: { SITE: 'north' }, name: 'given' })), { ok: true, name: 'given' });
  assert.deepEqual(pick(parseCompose('services:\n  app:\n    image: busybox\n', { vars: {} })), { ok: true, name: null });
});

function pick(r: ParseComposeResult) {
  return r.ok ? { ok: true, name: r.name } : { ok: false, errors: r.errors };
}
