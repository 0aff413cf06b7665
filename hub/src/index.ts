/** Public surface of @pifleet/hub: the HTTP contract types and an in-process hub for tests. */
export type * from './contract.js';
export { startHub, type RunningHub, type StartHubOptions } from './http/start-hub.js';
export { banner } from './http/banner.js';
export { ConfigError } from './config/env.js';
export { INITIAL_PASSWORD_FILE } from './users/admin-bootstrap.service.js';
