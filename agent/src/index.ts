/** Library surface of @pifleet/agent (benchmarks and system tests reuse these); no side effects. */
export * from './config/config.js';
export * from './identity/ssh-key.js';
export * from './identity/identity-store.js';
export * from './identity/enroll-client.js';
export * from './identity/enrollment.js';
export * from './log/logger.js';
export * from './mqtt/mqtt-link.js';
export * from './mqtt/status-payloads.js';
export * from './telemetry/proc-parsers.js';
export * from './telemetry/pi-parsers.js';
export * from './telemetry/host-reader.js';
export * from './telemetry/sampler.js';
export * from './telemetry/ring-buffer.js';
export * from './telemetry/telemetry-reporter.js';
export * from './system/device-info.js';
export * from './util/backoff.js';
