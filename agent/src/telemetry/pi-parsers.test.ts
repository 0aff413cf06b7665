import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCpuinfoModel, parseDeviceTreeModel, parseOsRelease, parseThermalDeci, parseThrottled } from './pi-parsers.js';

void test('parseThrottled reads vcgencmd output and the firmware sysfs form', () => {
  // Pi on a weak supply: under-voltage now (bit 0), throttled now (bit 2), and both have occurred.
  assert.equal(parseThrottled('throttled=0x50005\n'), 0x50005);
  assert.equal(parseThrottled('throttled=0x0\n'), 0);
  assert.equal(parseThrottled('50000\n'), 0x50000);
  assert.equal(parseThrottled('VCHI initialization failed\n'), null);
  assert.equal(parseThrottled(''), null);
});

void test('parseThermalDeci converts millidegrees to deci-degrees', () => {
  assert.equal(parseThermalDeci('48686\n'), 487);
  assert.equal(parseThermalDeci(''), null);
  assert.equal(parseThermalDeci('n/a'), null);
});

void test('parseOsRelease prefers PRETTY_NAME', () => {
  const raspios = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
`;
  assert.equal(parseOsRelease(raspios), 'Debian GNU/Linux 12 (bookworm)');
  assert.equal(parseOsRelease('NAME=Alpine\nVERSION_ID=3.20.3\n'), 'Alpine 3.20.3');
  assert.equal(parseOsRelease(''), undefined);
});

void test('device model from the device tree or /proc/cpuinfo', () => {
  assert.equal(parseDeviceTreeModel('Raspberry Pi 4 Model B Rev 1.4\0'), 'Raspberry Pi 4 Model B Rev 1.4');
  const cpuinfo = `processor\t: 3
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41

Revision\t: c03114
Serial\t\t: 10000000a1b2c3d4
Model\t\t: Raspberry Pi 4 Model B Rev 1.4
`;
  assert.equal(parseCpuinfoModel(cpuinfo), 'Raspberry Pi 4 Model B Rev 1.4');
  assert.equal(parseCpuinfoModel('processor : 0\n'), undefined);
});
