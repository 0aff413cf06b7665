import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineError } from './engine.js';
import { toEngineError } from './errors.js';

// Errors shaped as docker-modem builds them: statusCode + the engine's JSON body.
function http(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) - ${message}`), { statusCode, json: { message } });
}
function sys(code: string): Error {
  return Object.assign(new Error(`connect ${code} /var/run/docker.sock`), { code });
}
const code = (err: unknown, op: Parameters<typeof toEngineError>[1] = 'other') => toEngineError(err, op, 'x').code;

void test('no socket, nobody listening, a cut connection: engine_down', () => {
  for (const c of ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']) assert.equal(code(sys(c)), 'engine_down', c);
  assert.equal(code(new Error('socket hang up')), 'engine_down');
  assert.equal(code(sys('ECONNREFUSED'), 'pull'), 'engine_down', 'even while pulling');
});

void test('a disk full is disk_full, whatever the call', () => {
  assert.equal(code(http(500, 'write /var/lib/docker/tmp/x: no space left on device'), 'pull'), 'disk_full');
  assert.equal(code(http(500, 'copying: ENOSPC'), 'load'), 'disk_full');
});

void test('pull failures are image_pull_failed, whatever the status', () => {
  assert.equal(code(http(404, 'manifest unknown'), 'pull'), 'image_pull_failed');
  assert.equal(code(http(500, 'pull access denied'), 'pull'), 'image_pull_failed');
  assert.equal(code(new Error('toomanyrequests'), 'pull'), 'image_pull_failed');
});

void test('port conflicts as Docker and Podman word them', () => {
  assert.equal(code(http(500, 'driver failed programming external connectivity: Bind for 0.0.0.0:80 failed: port is already allocated'), 'start'), 'port_conflict');
  assert.equal(code(http(500, 'cannot listen on the TCP port: listen tcp4 :8080: bind: address already in use'), 'start'), 'port_conflict');
  assert.equal(code(http(500, 'rootlessport listen tcp 0.0.0.0:80: bind: address already in use'), 'start'), 'port_conflict');
});

void test('404 on an image is image_missing, other 404s not_found, 409 and Podman name clashes conflict', () => {
  assert.equal(code(http(404, 'No such image: nginx:9'), 'create'), 'image_missing');
  assert.equal(code(http(404, 'localhost/x:y: image not known'), 'create'), 'image_missing');
  assert.equal(code(http(404, 'No such container: abc')), 'not_found');
  assert.equal(code(http(500, 'unable to find network with name or ID pifleet_a_default: network not found'), 'create'), 'not_found');
  assert.equal(code(http(409, 'Conflict. The container name "/a" is already in use')), 'conflict');
  assert.equal(code(http(500, 'the container name "pifleet_a_b" is already in use by 4dba. You have to remove that container to be able to reuse that name: that name is already in use'), 'create'), 'conflict');
  assert.equal(code(http(500, 'network name pifleet_a_b already used: network already exists')), 'conflict');
  assert.equal(code(http(500, '"pifleet_a_default" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used')), 'conflict');
  assert.equal(code(http(403, 'error while removing network: network pifleet_a_b id 1f has active endpoints')), 'conflict');
  assert.equal(code(http(409, 'remove pifleet_a_v: volume is in use - [c1]')), 'conflict');
  assert.equal(code(http(500, 'something else')), 'engine_error');
});

void test("the engine's message is kept, bounded and on one line; an EngineError passes unchanged", () => {
  const e = toEngineError(http(500, `line one\nline two ${'x'.repeat(2000)}`), 'other', 'start pifleet_a_b');
  assert.match(e.message, /^start pifleet_a_b: line one line two x+…$/);
  assert.ok(e.message.length < 600);
  const same = new EngineError('conflict', 'c');
  assert.equal(toEngineError(same, 'pull', 'x'), same);
});
