/** The hub's compose-file parser: compose YAML -> the normalised app model of @pifleet/protocol. */
export { parseCompose, type ComposeApp, type ParseComposeOptions, type ParseComposeResult } from './parse-compose.js';
export { composeVariables, type ComposeVariable } from './variables.js';
export { diffServiceSpecs } from './diff.js';
export { MAX_COMPOSE_BYTES, MAX_ERRORS, MAX_SERVICES } from './limits.js';
