import { execFile } from 'node:child_process';
import { readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { parseThrottled } from './pi-parsers.js';

const VCGENCMD_TIMEOUT_MS = 2000;
/** Firmware attribute exposed by Raspberry Pi kernels; readable in a container without /dev/vchiq. */
const THROTTLED_SYSFS = 'devices/platform/soc/soc:firmware/get_throttled';

export interface HostReaderOptions {
  procRoot?: string;
  sysRoot?: string;
  /** Command for the throttling fallback; `vcgencmd` from PATH by default. */
  vcgencmd?: string;
}

/**
 * The IO half of telemetry: reads host files and runs `vcgencmd`. Every method answers null when
 * the source is missing (a laptop has no thermal zone, a container may hide /sys), never throws.
 */
export class HostReader {
  private readonly proc: string;
  private readonly sys: string;
  private readonly vcgencmd: string;
  /** Set once vcgencmd is found missing, so a Pi without it is not forked every 10 s for nothing. */
  private vcgencmdMissing = false;
  private sysfsThrottledMissing = false;

  constructor(opts: HostReaderOptions = {}) {
    this.proc = opts.procRoot ?? '/proc';
    this.sys = opts.sysRoot ?? '/sys';
    this.vcgencmd = opts.vcgencmd ?? 'vcgencmd';
  }

  async procText(rel: string): Promise<string | null> {
    return readText(join(this.proc, rel));
  }

  async sysText(rel: string): Promise<string | null> {
    return readText(join(this.sys, rel));
  }

  /** Filesystem holding `path`, in MiB. */
  async disk(path: string): Promise<{ usedMiB: number; totalMiB: number } | null> {
    try {
      const s = await statfs(path);
      const mib = (blocks: number): number => (blocks * s.bsize) / 1048576;
      return { totalMiB: mib(s.blocks), usedMiB: mib(s.blocks - s.bfree) };
    } catch {
      return null;
    }
  }

  async throttled(): Promise<number | null> {
    if (!this.sysfsThrottledMissing) {
      const text = await this.sysText(THROTTLED_SYSFS);
      if (text !== null) return parseThrottled(text);
      this.sysfsThrottledMissing = true;
    }
    if (this.vcgencmdMissing) return null;
    return new Promise((resolve) => {
      execFile(this.vcgencmd, ['get_throttled'], { timeout: VCGENCMD_TIMEOUT_MS }, (err, stdout) => {
        if (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.vcgencmdMissing = true;
          resolve(null);
          return;
        }
        resolve(parseThrottled(stdout));
      });
    });
  }
}

export async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}
