import { isIPv4, isIPv6, type Socket } from 'node:net';
import type { Client } from 'aedes';
import { MAX_PAYLOAD_BYTES } from '@pifleet/protocol';

/**
 * Largest MQTT packet (remaining length) accepted before the client has authenticated. A device's
 * CONNECT — client id, credentials and a Will carrying its offline status — is a few hundred
 * bytes, so this leaves ample room while keeping what an anonymous socket can make the hub hold
 * small. It covers every packet parsed before authentication has finished, so a client that
 * sends a large PUBLISH right behind its CONNECT, without waiting for CONNACK, is cut; mqtt.js
 * (and so the agent) waits.
 */
export const MAX_UNAUTHENTICATED_PACKET_BYTES = 16 * 1024;

/**
 * Largest packet from an authenticated device: the largest payload plus room for the topic and
 * header. The same figure as `max_packet_size` in deploy/mosquitto/mosquitto.conf.
 */
export const MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 1024;

/**
 * Sockets one address (an IPv6 /64, which one host usually controls whole) may hold open without
 * having authenticated. Devices behind one NAT connect in parallel only after a hub or network
 * outage, and a refused one retries with backoff.
 */
export const MAX_UNAUTHENTICATED_PER_IP = 64;

/** The parts of mqtt-packet's Parser (aedes' `client._parser`) the size limit hooks into. */
interface LengthParser {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(err: Error): void;
}

/**
 * aedes has no maximum packet size: mqtt-packet keeps appending a packet's bytes until as many
 * have arrived as its fixed header announced (up to 268 MB), and only then hands it over. So the
 * limit is checked right where the parser has decoded the remaining length, before any of the
 * body is buffered: a larger packet is a parser error, on which aedes destroys the socket.
 *
 * Returns false when the client does not carry the parser this relies on (an aedes or
 * mqtt-packet upgrade changed it); the caller must then refuse the connection rather than run it
 * without a limit.
 */
export function limitPacketSize(client: Client, maxBytes: () => number, refused: (announced: number, max: number) => void): boolean {
  const parser = (client as unknown as { _parser?: Partial<LengthParser> })._parser;
  if (typeof parser?._parseLength !== 'function' || typeof parser._emitError !== 'function') return false;
  const parseLength = parser._parseLength;
  parser._parseLength = function guardedParseLength(this: LengthParser): boolean {
    if (!parseLength.call(this)) return false; // length bytes not all here yet
    const max = maxBytes();
    if (this.packet.length <= max) return true;
    refused(this.packet.length, max);
    this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds the limit of ${max}`));
    return false;
  };
  return true;
}

/**
 * Counts sockets that have not authenticated yet, per remote address, so one host cannot hold
 * thousands of them open (each with a read buffer and a CONNECT timer) and crowd out devices.
 * A socket stops counting when it authenticates or closes.
 */
export class UnauthenticatedSockets {
  private readonly perGroup = new Map<string, number>();
  /** "address|port" of each counted socket -> its address group. */
  private readonly sockets = new Map<string, string>();

  constructor(
    private readonly maxPerAddress: number,
    private readonly changed: (total: number) => void = () => undefined,
  ) {}

  get total(): number {
    return this.sockets.size;
  }

  /** Counts a new TCP connection; false when its address already has its share (the caller closes it). */
  admit(socket: Socket): boolean {
    const key = socketKey(socket);
    if (!key || !socket.remoteAddress) return false; // already gone
    const group = addressGroup(socket.remoteAddress);
    const n = this.perGroup.get(group) ?? 0;
    if (n >= this.maxPerAddress) return false;
    this.perGroup.set(group, n + 1);
    this.sockets.set(key, group);
    socket.once('close', () => this.release(key));
    this.changed(this.total);
    return true;
  }

  /**
   * The connection on this socket authenticated. Keyed by remote address and port, which a TLS
   * socket shares with the TCP socket under it. The hub's in-process connection has neither.
   */
  authenticated(conn: object): void {
    const key = socketKey(conn as { remoteAddress?: string; remotePort?: number });
    if (key) this.release(key);
  }

  private release(key: string): void {
    const group = this.sockets.get(key);
    if (group === undefined) return;
    this.sockets.delete(key);
    const n = (this.perGroup.get(group) ?? 1) - 1;
    if (n > 0) this.perGroup.set(group, n);
    else this.perGroup.delete(group);
    this.changed(this.total);
  }
}

function socketKey(s: { remoteAddress?: string; remotePort?: number }): string | undefined {
  return s.remoteAddress && s.remotePort !== undefined ? `${s.remoteAddress}|${s.remotePort}` : undefined;
}

/** IPv4 (also IPv4-mapped IPv6) per address; IPv6 per /64, since a single host often has a whole /64. */
export function addressGroup(address: string): string {
  const mapped = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(mapped)) return mapped;
  const bare = address.split('%')[0]!; // zone id
  if (!isIPv6(bare)) return address;
  const [head = '', tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // A dotted IPv4 tail stands for two groups; only the first four groups matter here.
  const width = (parts: string[]) => parts.reduce((n, p) => n + (p.includes('.') ? 2 : 1), 0);
  const zeros = tail === undefined ? [] : Array<string>(Math.max(0, 8 - width(left) - width(right))).fill('0');
  const groups = [...left, ...zeros, ...right].slice(0, 4).map((g) => (g.includes('.') ? g : parseInt(g, 16).toString(16)));
  return `${groups.join(':')}::/64`;
}
