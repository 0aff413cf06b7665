import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

const KEY_TYPE = 'ssh-ed25519';

/** SSH wire `string`: uint32 big-endian length, then the bytes (RFC 4251 §5). */
function sshString(bytes: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** Raw 32-byte Ed25519 public key; the JWK export is the one node gives without DER parsing. */
export function rawEd25519(publicKey: KeyObject): Buffer {
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new TypeError('not an ed25519 key');
  const jwk = publicKey.export({ format: 'jwk' });
  const raw = Buffer.from(jwk.x ?? '', 'base64url');
  if (raw.length !== 32) throw new TypeError('unexpected ed25519 key length');
  return raw;
}

/**
 * OpenSSH authorized_keys form: `ssh-ed25519 <base64(string "ssh-ed25519" || string key)>`
 * (RFC 8709 §4). This is what the hub stores and later pins for the device's SSH tunnel.
 */
export function toOpenSshPublicKey(publicKey: KeyObject, comment?: string): string {
  const blob = Buffer.concat([sshString(Buffer.from(KEY_TYPE)), sshString(rawEd25519(publicKey))]);
  return `${KEY_TYPE} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
}

/** Inverse of toOpenSshPublicKey; used by tests and to sanity-check a stored key. */
export function parseOpenSshPublicKey(line: string): KeyObject {
  const [type, b64] = line.trim().split(/\s+/);
  if (type !== KEY_TYPE || !b64) throw new TypeError('not an ssh-ed25519 public key');
  const blob = Buffer.from(b64, 'base64');
  const tlen = blob.readUInt32BE(0);
  if (blob.subarray(4, 4 + tlen).toString() !== KEY_TYPE) throw new TypeError('key type mismatch in blob');
  const klen = blob.readUInt32BE(4 + tlen);
  const key = blob.subarray(8 + tlen, 8 + tlen + klen);
  if (klen !== 32 || key.length !== 32 || blob.length !== 8 + tlen + klen) throw new TypeError('bad ed25519 blob');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') }, format: 'jwk' });
}

export interface DeviceKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#8 PEM, the on-disk form (OpenSSH and ssh2 both read it). */
  privatePem: string;
}

export function generateDeviceKey(): DeviceKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { privateKey, publicKey, privatePem };
}

export function loadDeviceKey(privatePem: string): DeviceKey {
  const privateKey = createPrivateKey(privatePem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError('device key is not ed25519');
  return { privateKey, publicKey: createPublicKey(privateKey), privatePem };
}
