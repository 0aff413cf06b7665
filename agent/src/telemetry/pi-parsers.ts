/** Pure parsers for Raspberry Pi specifics and host facts; see proc-parsers.ts for /proc. */

/**
 * `vcgencmd get_throttled` prints `throttled=0x50005`; the firmware sysfs attribute
 * (/sys/devices/platform/soc/soc:firmware/get_throttled) prints the same bitmask as bare hex.
 * Bits: 0 under-voltage now, 1 freq capped, 2 throttled, 3 soft temp limit; +16 = "has occurred".
 */
export function parseThrottled(text: string): number | null {
  const m = /^\s*(?:throttled=)?(?:0x)?([0-9a-f]+)\s*$/i.exec(text);
  if (!m) return null;
  const v = Number.parseInt(m[1]!, 16);
  return Number.isSafeInteger(v) ? v : null;
}

/** thermal_zone0/temp is millidegrees Celsius; the protocol wants deci-degrees. */
export function parseThermalDeci(text: string): number | null {
  const v = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(v) ? Math.round(v / 100) : null;
}

/** PRETTY_NAME from os-release(5), falling back to NAME VERSION_ID. */
export function parseOsRelease(text: string): string | undefined {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) kv.set(m[1]!, m[2]!.replace(/^(["'])(.*)\1$/, '$2'));
  }
  const pretty = kv.get('PRETTY_NAME');
  if (pretty) return pretty;
  const name = kv.get('NAME');
  return name ? [name, kv.get('VERSION_ID')].filter(Boolean).join(' ') : undefined;
}

/** Device tree model strings end with a NUL byte. */
export function parseDeviceTreeModel(text: string): string | undefined {
  const v = text.replace(/\0/g, '').trim();
  return v || undefined;
}

/** Raspberry Pi kernels add `Model : Raspberry Pi 4 Model B Rev 1.4` to /proc/cpuinfo. */
export function parseCpuinfoModel(text: string): string | undefined {
  const m = /^Model\s*:\s*(.+)$/m.exec(text);
  return m?.[1]?.trim() || undefined;
}
