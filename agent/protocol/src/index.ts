export * from './version.js';
export * from './limits.js';
export * from './topics.js';
export * from './telemetry.js';
export * from './messages.js';
export * from './enrollment.js';
export * from './decode.js';
export * from './text.js';
