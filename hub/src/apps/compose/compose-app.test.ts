import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppSpecSchema, ServiceSpecSchema } from '@pifleet/protocol';
import { parseOk } from './compose-test-helpers.js';
import { composeVariables, diffServiceSpecs, parseCompose } from './index.js';

/** A realistic app end to end, the variables helper, and the spec diff behind the apply plan. */

const SHOP = `# Storefront on a Pi: web in front, redis for sessions, a worker draining the queue.
name: shop

x-common: &common
  restart: unless-stopped
  labels:
    com.example.app: shop

services:
  web:
    <<: *common
    image: ghcr.io/acme/shop-web:\${WEB_TAG:-1.4.2}
    ports:
      - "\${HTTP_PORT:-8080}:8080"
    environment:
      REDIS_URL: redis://redis:6379/0
      SITE_NAME: \${SITE_NAME:?every device needs a site name}
      LOG_LEVEL:
    env_file: web.env
    depends_on:
      redis:
        condition: service_healthy
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://localhost:8080/health"]
      interval: 15s
      timeout: 3s
      retries: 4
      start_period: 20s
    mem_limit: 256m
    cpus: 0.5
    stop_grace_period: 20s

  redis:
    <<: *common
    image: redis:7.2-alpine
    command: redis-server --appendonly yes --maxmemory 64mb
    volumes:
      - redis-data:/data
    healthcheck:
      test: redis-cli ping | grep -q PONG
      interval: 5s
      timeout: 2s
      retries: 10
    deploy:
      resources:
        limits:
          memory: 96M
    x-pifleet:
      startSecs: 3
      unhealthyGraceSecs: 60

  worker:
    <<: *common
    image: ghcr.io/acme/shop-worker:\${WEB_TAG:-1.4.2}
    entrypoint: ["/usr/bin/tini", "--"]
    command: ["worker", "--queue", "orders"]
    environment:
      - REDIS_URL=redis://redis:6379/0
      - SITE_NAME=\${SITE_NAME}
    depends_on:
      redis:
        condition: service_healthy
      web:
        condition: service_started
    volumes:
      - type: bind
        source: /srv/shop/exports
        target: /exports
      - type: tmpfs
        target: /tmp
        tmpfs:
          size: 32m
    restart: on-failure:3
    x-pifleet:
      startRetries: 3
      fatalExitCodes: [78]
      successExitCodes: [0]

volumes:
  redis-data:
    labels:
      com.example.backup: daily
`;

const ENV_FILES = { 'web.env': '# web settings\nSESSION_TTL=3600\nGREETING="Hello from ${SITE_NAME}"\nLOG_LEVEL=info\n' };

void test('a realistic three-service app parses to the spec the agent runs', () => {
  const app = parseOk(SHOP, { vars: { SITE_NAME: 'north-store', HTTP_PORT: '80', LOG_LEVEL: 'debug' }, envFiles: ENV_FILES });
  assert.deepEqual(Object.keys(app.services), ['web', 'redis', 'worker']);
  const { web, redis, worker } = app.services;

  assert.equal(web.image, 'ghcr.io/acme/shop-web:1.4.2');
  assert.deepEqual(web.ports, [{ target: 8080, published: 80, protocol: 'tcp' }]);
  // environment wins over the env file (LOG_LEVEL from the device's variables), the env file is interpolated.
  assert.deepEqual(web.environment, {
    SESSION_TTL: '3600',
    GREETING: 'Hello from north-store',
    LOG_LEVEL: 'debug',
    REDIS_URL: 'redis://redis:6379/0',
    SITE_NAME: 'north-store',
  });
  assert.deepEqual(web.dependsOn, { redis: 'service_healthy' });
  assert.deepEqual(web.healthcheck, { test: ['CMD', 'wget', '-q', '-O-', 'http://localhost:8080/health'], intervalMs: 15_000, timeoutMs: 3000, retries: 4, startPeriodMs: 20_000 });
  assert.equal(web.memLimitBytes, 256 * 1024 * 1024);
  assert.equal(web.nanoCpus, 500_000_000);
  assert.equal(web.stopGraceMs, 20_000);
  assert.equal(web.restart, 'unless-stopped');
  assert.deepEqual(web.labels, { 'com.example.app': 'shop' });

  assert.deepEqual(redis.command, ['redis-server', '--appendonly', 'yes', '--maxmemory', '64mb']);
  assert.deepEqual(redis.mounts, [{ type: 'volume', source: 'redis-data', target: '/data', readOnly: false }]);
  assert.deepEqual(redis.healthcheck?.test, ['CMD-SHELL', 'redis-cli ping | grep -q PONG']);
  assert.equal(redis.memLimitBytes, 96 * 1024 * 1024);
  assert.deepEqual(redis.supervision, { startSecs: 3, startRetries: 5, successExitCodes: [0], fatalExitCodes: [], restartUnhealthy: true, unhealthyGraceSecs: 60 });

  assert.deepEqual(worker.entrypoint, ['/usr/bin/tini', '--']);
  assert.deepEqual(worker.command, ['worker', '--queue', 'orders']);
  assert.deepEqual(worker.environment, { REDIS_URL: 'redis://redis:6379/0', SITE_NAME: 'north-store' });
  assert.deepEqual(worker.dependsOn, { redis: 'service_healthy', web: 'service_started' });
  assert.deepEqual(worker.mounts, [{ type: 'bind', source: '/srv/shop/exports', target: '/exports', readOnly: false }]);
  assert.deepEqual(worker.tmpfs, [`/tmp:size=${32 * 1024 * 1024}`]);
  assert.equal(worker.restart, 'on-failure');
  assert.deepEqual(worker.supervision.fatalExitCodes, [78]);
  assert.equal(worker.supervision.startRetries, 3);

  assert.deepEqual(app.volumes, { 'redis-data': { labels: { 'com.example.backup': 'daily' } } });
  assert.deepEqual(app.networks, {});
  const r = parseCompose(SHOP, { vars: { SITE_NAME: 'x' }, envFiles: ENV_FILES });
  assert.ok(r.ok && r.name === 'shop');
  assert.ok(AppSpecSchema.safeParse({ ...(r.ok ? r.app : {}), release: 7 }).success);
});

void test('the same file parses per device: each device gets its own variables', () => {
  const a = parseOk(SHOP, { vars: { SITE_NAME: 'a', WEB_TAG: '2.0.0' }, envFiles: ENV_FILES });
  const b = parseOk(SHOP, { vars: { SITE_NAME: 'b' }, envFiles: ENV_FILES });
  assert.equal(a.services.web.image, 'ghcr.io/acme/shop-web:2.0.0');
  assert.equal(b.services.web.image, 'ghcr.io/acme/shop-web:1.4.2');
  assert.equal(a.services.web.environment.SITE_NAME, 'a');
  assert.equal(b.services.web.environment.SITE_NAME, 'b');
  // LOG_LEVEL is unset for b: the bare entry is left out and the env file's value stays.
  assert.equal(b.services.web.environment.LOG_LEVEL, 'info');

  const missing = parseCompose(SHOP, { vars: {}, envFiles: ENV_FILES });
  assert.equal(missing.ok, false);
  assert.deepEqual(
    missing.ok ? [] : missing.errors.map((e) => [e.path, e.line]),
    [
      ['services.web.environment.SITE_NAME', 17],
      ['services.web.env_file', 19],
      ['services.worker.environment[1]', 59],
    ],
  );
  assert.match(missing.ok ? '' : missing.errors[0].message, /variable SITE_NAME is unset and required: every device needs a site name/);
  assert.match(missing.ok ? '' : missing.errors[1].message, /env file "web.env" line 3: variable SITE_NAME is unset/);
  // Errors handed out are copies: changing them does not change the next parse's.
  if (!missing.ok) missing.errors[0].message = 'changed';
  const again = parseCompose(SHOP, { vars: {}, envFiles: ENV_FILES });
  assert.match(again.ok ? '' : again.errors[0].message, /SITE_NAME/);
});

void test('composeVariables lists what the file refers to, and which ones a device must have', () => {
  assert.deepEqual(composeVariables(SHOP), [
    { name: 'HTTP_PORT', required: false },
    { name: 'LOG_LEVEL', required: false },
    { name: 'SITE_NAME', required: true },
    { name: 'WEB_TAG', required: false },
  ]);
  assert.deepEqual(composeVariables('x-unused:\n  a: ${IGNORED}\nversion: "${NOPE}"\nservices:\n  a:\n    image: x:$TAG\n    environment: [BARE, "K=${V:-d}"]\n'), [
    { name: 'BARE', required: false },
    { name: 'TAG', required: true },
    { name: 'V', required: false },
  ]);
  assert.deepEqual(composeVariables('not: [valid'), []);
  assert.deepEqual(composeVariables(''), []);
});

void test('diffServiceSpecs names the top-level fields that differ', () => {
  const base = ServiceSpecSchema.parse({ image: 'nginx:1', environment: { A: '1', B: '2' }, ports: [{ target: 80, published: 8080 }] });
  assert.deepEqual(diffServiceSpecs(base, structuredClone(base)), []);
  // Key order in records does not matter.
  assert.deepEqual(diffServiceSpecs(base, { ...base, environment: { B: '2', A: '1' } }), []);
  assert.deepEqual(diffServiceSpecs(base, { ...base, image: 'nginx:2' }), ['image']);
  assert.deepEqual(diffServiceSpecs(base, { ...base, environment: { A: '1' }, ports: [] }), ['environment', 'ports']);
  assert.deepEqual(diffServiceSpecs(base, { ...base, command: ['a'] }), ['command']);
  assert.deepEqual(diffServiceSpecs({ ...base, command: ['a', 'b'] }, { ...base, command: ['b', 'a'] }), ['command']);
  assert.deepEqual(diffServiceSpecs(base, { ...base, healthcheck: null }), ['healthcheck']);
  assert.deepEqual(diffServiceSpecs(base, { ...base, supervision: { ...base.supervision, startRetries: 1 } }), ['supervision']);
  assert.deepEqual(diffServiceSpecs(base, { ...base, memLimitBytes: undefined }), []);

  // Between two parses of the file: a device whose variable changes the image and a port.
  const a = parseOk(SHOP, { vars: { SITE_NAME: 'a' }, envFiles: ENV_FILES });
  const b = parseOk(SHOP, { vars: { SITE_NAME: 'a', WEB_TAG: '2', HTTP_PORT: '81' }, envFiles: ENV_FILES });
  assert.deepEqual(diffServiceSpecs(a.services.web, b.services.web), ['image', 'ports']);
  assert.deepEqual(diffServiceSpecs(a.services.redis, b.services.redis), []);
  assert.deepEqual(diffServiceSpecs(a.services.worker, b.services.worker), ['image']);
});
