import { arch, availableParallelism, hostname, release } from 'node:os';
import type { DeviceInfo } from '@pifleet/protocol';
import { readText } from '../telemetry/host-reader.js';
import { parseCpuinfoModel, parseDeviceTreeModel, parseOsRelease } from '../telemetry/pi-parsers.js';
import { parseBootTime } from '../telemetry/proc-parsers.js';

/**
 * In a container /etc/os-release describes the image, not the Pi; when the host's file is mounted
 * at /host/etc/os-release (see agent/README.md) it wins.
 */
const OS_RELEASE_PATHS = ['/host/etc/os-release', '/etc/os-release'];

async function firstText(paths: string[]): Promise<string | null> {
  for (const p of paths) {
    const t = await readText(p);
    if (t !== null) return t;
  }
  return null;
}

/** Static facts sent at enrollment and with every `online` status. bootTime is ms since the epoch. */
export async function collectDeviceInfo(agentVersion: string): Promise<DeviceInfo> {
  const [osRelease, dtModel, cpuinfo, stat] = await Promise.all([
    firstText(OS_RELEASE_PATHS),
    // Docker masks /sys/firmware (hence /proc/device-tree); Pi kernels repeat the model in cpuinfo.
    readText('/proc/device-tree/model'),
    readText('/proc/cpuinfo'),
    readText('/proc/stat'),
  ]);
  const bootS = stat ? parseBootTime(stat) : null;
  const info: DeviceInfo = {
    hostname: hostname().slice(0, 255),
    kernel: release().slice(0, 255),
    arch: arch(),
    cpus: availableParallelism(),
    agentVersion,
  };
  const os = osRelease ? parseOsRelease(osRelease) : undefined;
  const model = (dtModel ? parseDeviceTreeModel(dtModel) : undefined) ?? (cpuinfo ? parseCpuinfoModel(cpuinfo) : undefined);
  if (os) info.os = os.slice(0, 255);
  if (model) info.model = model.slice(0, 255);
  if (bootS !== null) info.bootTime = bootS * 1000;
  return info;
}
