import type { z } from 'zod';
import { decodePayload, type Decoded } from './decode.js';
import { TOPIC_PARAM_PATTERN } from './limits.js';
import {
  CommandMessageSchema,
  CommandResultMessageSchema,
  EventMessageSchema,
  HubStatusMessageSchema,
  StateDesiredMessageSchema,
  StateReportedMessageSchema,
  StatusMessageSchema,
  TelemetryMessageSchema,
  ThrottledMessageSchema,
} from './messages.js';
import { DEVICE_ROOT, TOPIC_ROOT, parseDeviceTopic } from './topics.js';

/** Who publishes on a leaf: the device (the hub subscribes over all devices) or the hub. */
export type Direction = 'device' | 'hub';

export interface LeafEntry {
  /**
   * Topic levels after `pifleet/v1/dev/{id}/` (root `device`) or after `pifleet/v1/` (root `hub`,
   * the hub's own topics). A `+` level is filled by the sender (event kind, command name).
   */
  readonly leaf: string;
  readonly root: 'device' | 'hub';
  readonly direction: Direction;
  readonly schema: z.ZodType;
  readonly qos: 0 | 1;
  readonly retain: boolean;
  /** For a leaf with `+`: the payload field that must equal that level (checked by decodeLeaf). */
  readonly paramField?: string;
  readonly doc: string;
}

/** Keys are the leaves; each entry gets its own key as `leaf`, so the two cannot disagree. */
function table<const T extends Record<string, Omit<LeafEntry, 'leaf'>>>(t: T): {
  readonly [K in keyof T & string]: T[K] & { readonly leaf: K } & Pick<LeafEntry, 'paramField'>;
} {
  return Object.fromEntries(Object.entries(t).map(([leaf, e]) => [leaf, { leaf, ...e }])) as never;
}

/**
 * Every MQTT topic of the protocol, in one place: the hub and the agent build, subscribe, match
 * and validate from this table, and the README's topic table is checked against it.
 */
export const MESSAGE_REGISTRY = table({
  status: {
    root: 'device', direction: 'device', schema: StatusMessageSchema, qos: 1, retain: true,
    doc: 'presence (online/offline with the session number); also the Last Will',
  },
  telemetry: {
    root: 'device', direction: 'device', schema: TelemetryMessageSchema, qos: 1, retain: false,
    doc: 'columnar batch of samples, delta-encoded',
  },
  throttled: {
    root: 'device', direction: 'hub', schema: ThrottledMessageSchema, qos: 0, retain: false,
    doc: 'the hub dropped messages over the per-device limits; hold telemetry back for retryAfterMs',
  },
  'state/desired': {
    root: 'device', direction: 'hub', schema: StateDesiredMessageSchema, qos: 1, retain: true,
    doc: 'what should run on the device, versioned; an older version is ignored',
  },
  'state/reported': {
    root: 'device', direction: 'device', schema: StateReportedMessageSchema, qos: 1, retain: true,
    doc: 'the desired version applied and the state of each service',
  },
  'evt/+': {
    root: 'device', direction: 'device', schema: EventMessageSchema, qos: 1, retain: false, paramField: 'kind',
    doc: 'an event of the given kind, numbered per device (seq) for dedupe',
  },
  'cmd/+': {
    root: 'device', direction: 'hub', schema: CommandMessageSchema, qos: 1, retain: false, paramField: 'name',
    doc: 'a command of the given name; the envelope id correlates the result',
  },
  'cmd/res': {
    root: 'device', direction: 'device', schema: CommandResultMessageSchema, qos: 1, retain: false,
    doc: 'the result of the command whose id is re',
  },
  'hub/status': {
    root: 'hub', direction: 'hub', schema: HubStatusMessageSchema, qos: 1, retain: true,
    doc: 'hub presence; also its Last Will; agents hold bulk traffic back while offline',
  },
});

export type MessageRegistry = typeof MESSAGE_REGISTRY;
export type RegistryLeaf = keyof MessageRegistry;
export type RegistryEntry<L extends RegistryLeaf = RegistryLeaf> = MessageRegistry[L];

/** Leaves under a device's root (`pifleet/v1/dev/{id}/...`), as patterns (`evt/+`). */
export type DeviceLeaf = { [K in RegistryLeaf]: MessageRegistry[K]['root'] extends 'device' ? K : never }[RegistryLeaf];
/** Leaves the hub publishes (and agents subscribe to). */
export type HubPublishedLeaf = { [K in RegistryLeaf]: MessageRegistry[K]['direction'] extends 'hub' ? K : never }[RegistryLeaf];
/** Leaves devices publish (and the hub subscribes to over all devices). */
export type DevicePublishedLeaf = { [K in RegistryLeaf]: MessageRegistry[K]['direction'] extends 'device' ? K : never }[RegistryLeaf];
/** The decoded message of a leaf. */
export type LeafMessage<L extends RegistryLeaf> = z.output<MessageRegistry[L]['schema']>;
export type LeafMessages = { [K in RegistryLeaf]: LeafMessage<K> };
/** What a sender may publish on a leaf (defaults still unfilled). */
export type LeafInput<L extends RegistryLeaf> = z.input<MessageRegistry[L]['schema']>;

/** The registry's entries in table order (for iteration; the README order). */
export const REGISTRY_ENTRIES: readonly RegistryEntry[] = Object.values(MESSAGE_REGISTRY);

interface Compiled {
  entry: RegistryEntry;
  levels: string[];
  /** Index of the `+` level, or -1 for an exact leaf. */
  param: number;
}
const compiled: Compiled[] = REGISTRY_ENTRIES.map((entry) => {
  const levels = entry.leaf.split('/');
  const param = levels.indexOf('+');
  // One sender-chosen level per leaf keeps matching unambiguous; a second would need a new design.
  if (levels.lastIndexOf('+') !== param || levels.includes('#')) throw new Error(`registry leaf ${entry.leaf}: at most one '+' and no '#'`);
  return { entry, levels, param };
});
const exact = new Map(compiled.filter((c) => c.param < 0).map((c) => [`${c.entry.root} ${c.entry.leaf}`, c.entry]));
const patterned = compiled.filter((c) => c.param >= 0);

/**
 * Whether `param` may fill the `+` of `leaf`: a valid topic level (TOPIC_PARAM_PATTERN) that does
 * not turn it into an exact sibling (`cmd/res` is the results' leaf, never a command named `res`).
 */
export function isLeafParam(leaf: RegistryLeaf, param: string): boolean {
  const e = MESSAGE_REGISTRY[leaf];
  return e.leaf.includes('+') && TOPIC_PARAM_PATTERN.test(param) && !exact.has(`${e.root} ${e.leaf.replace('+', param)}`);
}

/**
 * The topic of `leaf` for one device, with `param` in place of the `+`; without `param` the `+`
 * stays, which is the subscription filter over every kind or name. Hub-rooted leaves ignore
 * `deviceId`. Throws on a param the leaf does not take or that is not a valid level.
 */
export function leafTopic(deviceId: string, leaf: RegistryLeaf, param?: string): string {
  const e = MESSAGE_REGISTRY[leaf];
  let rel: string = e.leaf;
  if (param !== undefined) {
    if (!isLeafParam(leaf, param)) throw new RangeError(`leaf ${leaf} does not take ${JSON.stringify(param)}`);
    rel = rel.replace('+', param);
  }
  return e.root === 'hub' ? `${TOPIC_ROOT}/${rel}` : `${DEVICE_ROOT}/${deviceId}/${rel}`;
}

/** A topic matched to its registry entry; narrow on `leaf` to get the entry's types. */
export type LeafMatch = {
  [K in RegistryLeaf]: {
    leaf: K;
    entry: MessageRegistry[K];
    /** The device the topic belongs to (undefined for the hub's own topics). */
    deviceId: MessageRegistry[K]['root'] extends 'device' ? string : undefined;
    /** The level in place of the `+` (event kind, command name). */
    param: string | undefined;
  };
}[RegistryLeaf];

/** The registry entry a concrete topic belongs to, or undefined (unknown leaf, bad device id, bad param). */
export function matchLeaf(topic: string): LeafMatch | undefined {
  let root: 'device' | 'hub';
  let rest: string;
  let deviceId: string | undefined;
  const dev = parseDeviceTopic(topic);
  if (dev) {
    root = 'device';
    rest = dev.leaf;
    deviceId = dev.deviceId;
  } else if (topic.startsWith(`${TOPIC_ROOT}/`)) {
    root = 'hub';
    rest = topic.slice(TOPIC_ROOT.length + 1);
  } else return undefined;
  const hit = exact.get(`${root} ${rest}`);
  if (hit) return { leaf: hit.leaf, entry: hit, deviceId, param: undefined } as LeafMatch;
  const levels = rest.split('/');
  for (const c of patterned) {
    if (c.entry.root !== root || c.levels.length !== levels.length) continue;
    if (!c.levels.every((l, i) => i === c.param || l === levels[i])) continue;
    const param = levels[c.param]!;
    if (!TOPIC_PARAM_PATTERN.test(param)) return undefined;
    return { leaf: c.entry.leaf, entry: c.entry, deviceId, param } as LeafMatch;
  }
  return undefined;
}

/** The hub's subscription to a device-published leaf over all devices, e.g. `pifleet/v1/dev/+/evt/+`. */
export function hubSubscription(e: DevicePublishedLeaf | RegistryEntry<DevicePublishedLeaf>): string {
  const entry = typeof e === 'string' ? MESSAGE_REGISTRY[e] : e;
  return `${DEVICE_ROOT}/+/${entry.leaf}`;
}

/**
 * decodePayload with the leaf's schema, plus the check that a `+` leaf's payload names the same
 * kind or command as its topic (a message on `evt/boot` saying `kind: "crash"` is refused).
 */
export function decodeLeaf<L extends RegistryLeaf>(leaf: L, payload: Uint8Array, param?: string): Decoded<LeafMessage<L>> {
  const entry: LeafEntry = MESSAGE_REGISTRY[leaf];
  const r = decodePayload(entry.schema, payload) as Decoded<LeafMessage<L>>;
  if (!r.ok || entry.paramField === undefined || param === undefined) return r;
  const named = (r.value as Record<string, unknown>)[entry.paramField];
  if (named !== param) return { ok: false, error: 'invalid', detail: `${entry.paramField} ${JSON.stringify(named)} does not match the topic's ${JSON.stringify(param)}` };
  return r;
}
