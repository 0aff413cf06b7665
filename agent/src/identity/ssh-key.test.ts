import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, sign, verify } from 'node:crypto';
import { generateDeviceKey, loadDeviceKey, parseOpenSshPublicKey, rawEd25519, toOpenSshPublicKey } from './ssh-key.js';

void test('OpenSSH wire form of the RFC 8032 test vector 1 public key', () => {
  const raw = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  const line = toOpenSshPublicKey(key);
  // string "ssh-ed25519" (len 11) || string key (len 32), built by hand from the RFC 4251 encoding.
  const expected = Buffer.concat([
    Buffer.from([0, 0, 0, 11]),
    Buffer.from('ssh-ed25519'),
    Buffer.from([0, 0, 0, 32]),
    raw,
  ]).toString('base64');
  assert.equal(line, `ssh-ed25519 ${expected}`);
  assert.ok(line.startsWith('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI'), 'the prefix every ed25519 authorized_keys line has');
});

void test('a generated key round-trips and signatures verify with the published key', () => {
  const k = generateDeviceKey();
  const line = toOpenSshPublicKey(k.publicKey, 'pi@kitchen');
  assert.match(line, /^ssh-ed25519 [A-Za-z0-9+/]+={0,2} pi@kitchen$/);
  const parsed = parseOpenSshPublicKey(line);
  assert.deepEqual(rawEd25519(parsed), rawEd25519(k.publicKey));
  const sig = sign(null, Buffer.from('hello hub'), k.privateKey);
  assert.ok(verify(null, Buffer.from('hello hub'), parsed, sig));
});

void test('the stored PEM reloads to the same key', () => {
  const k = generateDeviceKey();
  assert.match(k.privatePem, /^-----BEGIN PRIVATE KEY-----/);
  const again = loadDeviceKey(k.privatePem);
  assert.equal(toOpenSshPublicKey(again.publicKey), toOpenSshPublicKey(k.publicKey));
});

void test('malformed public keys are rejected', () => {
  assert.throws(() => parseOpenSshPublicKey('ssh-rsa AAAAB3NzaC1yc2E'), TypeError);
  assert.throws(() => parseOpenSshPublicKey('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAA'), TypeError);
});
