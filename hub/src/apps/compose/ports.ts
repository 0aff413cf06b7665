import { isIPv4, isIPv6 } from 'node:net';
import type { PortSpec } from '@pifleet/protocol';
import { at, child, describe, type Reader } from './reader.js';
import type { YNode } from './yaml-tree.js';

/**
 * `ports:` in both syntaxes, ranges expanded to one PortSpec per port.
 *   short: "80", "8080:80", "127.0.0.1:8080:80/udp", "[::1]:8080:80", "8000-8002:9000-9002", 80
 *   long:  { target: 80, published: "8080" | 8080 | "8000-8002", host_ip: 127.0.0.1, protocol: udp }
 * A port without a published side is declared but not published on the Pi (Compose would pick
 * a random host port; a fleet needs to know where to reach a service, so pifleet never does).
 */

/** The most ports one service may list once ranges are expanded (ServiceSpecSchema's bound). */
const MAX_PORTS = 1024;

type Range = { start: number; end: number };

function parseRange(r: Reader, text: string, path: string, line: number | null, side: string): Range | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) {
    r.error(path, line, `invalid ${side} port ${JSON.stringify(text)}`);
    return undefined;
  }
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  for (const p of [start, end]) {
    if (p < 1 || p > 65_535) {
      r.error(path, line, `${side} port ${p} is out of range (1-65535)`);
      return undefined;
    }
  }
  if (end < start) {
    r.error(path, line, `${side} port range ${text} ends before it starts`);
    return undefined;
  }
  return { start, end };
}

function expand(
  r: Reader,
  path: string,
  line: number | null,
  target: Range,
  published: Range | undefined,
  hostIp: string | undefined,
  protocol: 'tcp' | 'udp',
): PortSpec[] | undefined {
  const count = target.end - target.start + 1;
  if (count > MAX_PORTS) {
    r.error(path, line, `range ${target.start}-${target.end} has more than ${MAX_PORTS} ports`);
    return undefined;
  }
  if (published && published.end - published.start + 1 !== count) {
    const what = count === 1 ? 'a published range for one container port (Docker would pick a free one; say which)' : 'published and container ranges of different lengths';
    r.error(path, line, `${what}: ${published.start}-${published.end} vs ${target.start}-${target.end}`);
    return undefined;
  }
  const out: PortSpec[] = [];
  for (let k = 0; k < count; k++) {
    out.push({
      target: target.start + k,
      ...(published ? { published: published.start + k } : {}),
      ...(hostIp !== undefined ? { hostIp } : {}),
      protocol,
    });
  }
  return out;
}

function readProtocol(r: Reader, text: string, path: string, line: number | null): 'tcp' | 'udp' | undefined {
  const p = text.toLowerCase();
  if (p === 'tcp' || p === 'udp') return p;
  r.error(path, line, `protocol ${JSON.stringify(text)} is not supported (tcp or udp)`);
  return undefined;
}

function readHostIp(r: Reader, text: string, path: string, line: number | null): string | undefined {
  const ip = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIPv4(ip) || isIPv6(ip)) return ip;
  r.error(path, line, `host_ip ${JSON.stringify(text)} is not an IP address`);
  return undefined;
}

function shortSyntax(r: Reader, spec: string, path: string, line: number | null): PortSpec[] | undefined {
  let rest = spec.trim();
  let protocol: 'tcp' | 'udp' = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = readProtocol(r, rest.slice(slash + 1), path, line);
    if (!p) return undefined;
    protocol = p;
    rest = rest.slice(0, slash);
  }
  let hostIp: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') {
      r.error(path, line, `invalid port ${JSON.stringify(spec)}: write an IPv6 host address as [addr]:published:target`);
      return undefined;
    }
    hostIp = readHostIp(r, rest.slice(0, close + 1), path, line);
    if (hostIp === undefined) return undefined;
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  if (hostIp === undefined && parts.length === 3) {
    hostIp = readHostIp(r, parts.shift()!, path, line);
    if (hostIp === undefined) return undefined;
  }
  if (parts.length > 2) {
    r.error(path, line, `invalid port ${JSON.stringify(spec)} (write [ip:]published:target[/protocol]; IPv6 addresses in brackets)`);
    return undefined;
  }
  const targetText = parts.pop()!;
  const publishedText = parts.pop();
  if (publishedText === '') {
    r.error(path, line, `port ${JSON.stringify(spec)} has no published port (random host ports are not supported; name the port)`);
    return undefined;
  }
  const target = parseRange(r, targetText, path, line, 'container');
  if (!target) return undefined;
  const published = publishedText === undefined ? undefined : parseRange(r, publishedText, path, line, 'published');
  if (publishedText !== undefined && !published) return undefined;
  return expand(r, path, line, target, published, hostIp, protocol);
}

function longSyntax(r: Reader, node: YNode, path: string): PortSpec[] | undefined {
  const map = r.map(node, path);
  if (!map) return undefined;
  const f = r.fields(map, path, ['target', 'published', 'host_ip', 'protocol'], {
    refuse: {
      mode: 'pifleet runs one container per service on the Pi; there is no ingress mode',
      app_protocol: '',
      name: '',
    },
    where: 'a port',
  });
  const t = f.get('target');
  if (!t) {
    r.error(path, node.line, 'target (the container port) is required');
    return undefined;
  }
  const targetNo = r.number(t.value, child(path, 'target'), { integer: true, min: 1, max: 65_535 });
  let published: Range | undefined;
  const p = f.get('published');
  if (p && !(p.value.kind === 'scalar' && p.value.value === null)) {
    const text = r.text(p.value, child(path, 'published'));
    if (text === undefined) return undefined;
    published = parseRange(r, text, child(path, 'published'), p.line, 'published');
    if (!published) return undefined;
  }
  let hostIp: string | undefined;
  const h = f.get('host_ip');
  if (h) {
    const text = r.text(h.value, child(path, 'host_ip'));
    if (text === undefined) return undefined;
    hostIp = readHostIp(r, text, child(path, 'host_ip'), h.line);
    if (hostIp === undefined) return undefined;
  }
  let protocol: 'tcp' | 'udp' = 'tcp';
  const pr = f.get('protocol');
  if (pr) {
    const text = r.text(pr.value, child(path, 'protocol'));
    const parsed = text === undefined ? undefined : readProtocol(r, text, child(path, 'protocol'), pr.line);
    if (!parsed) return undefined;
    protocol = parsed;
  }
  if (targetNo === undefined) return undefined;
  return expand(r, path, node.line, { start: targetNo, end: targetNo }, published, hostIp, protocol);
}

export function readPorts(r: Reader, node: YNode, path: string): PortSpec[] | undefined {
  const items = r.list(node, path);
  if (!items) return undefined;
  const out: PortSpec[] = [];
  const seen = new Map<string, string>();
  let failed = false;
  let tooMany = false;
  items.forEach((item, i) => {
    const p = at(path, i);
    let specs: PortSpec[] | undefined;
    if (item.kind === 'map') specs = longSyntax(r, item, p);
    else if (item.kind === 'scalar' && typeof item.value === 'number') {
      const n = r.number(item, p, { integer: true, min: 1, max: 65_535 });
      specs = n === undefined ? undefined : [{ target: n, protocol: 'tcp' }];
    } else if (item.kind === 'scalar' && typeof item.value === 'string') {
      const text = r.scalarText(item, p);
      specs = text === undefined ? undefined : shortSyntax(r, text, p, item.line);
    } else {
      r.error(p, item.line, `expected a port ("8080:80") or a mapping with target/published, got ${describe(item)}`);
    }
    if (!specs) {
      failed = true;
      return;
    }
    for (const s of specs) {
      if (s.published === undefined) continue;
      const key = `${s.hostIp ?? '*'}:${s.published}/${s.protocol}`;
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        r.error(p, item.line, `published port ${s.published}/${s.protocol}${s.hostIp ? ` on ${s.hostIp}` : ''} is already published by ${earlier}`);
        failed = true;
      } else seen.set(key, p);
    }
    if (tooMany || out.length + specs.length > MAX_PORTS) {
      if (!tooMany) r.error(p, item.line, `more than ${MAX_PORTS} ports once ranges are expanded`);
      failed = tooMany = true;
      return;
    }
    out.push(...specs);
  });
  return failed ? undefined : out;
}
