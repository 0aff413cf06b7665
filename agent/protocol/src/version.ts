/**
 * Version of the hub<->agent contract carried in every payload as `v`.
 * Compatibility policy (see ../README.md): the hub accepts every version from
 * MIN_SUPPORTED_PROTOCOL_VERSION up to PROTOCOL_VERSION, because devices update slowly.
 * Additive changes (new optional fields, new message types) do not bump the version.
 */
export const PROTOCOL_VERSION = 1;
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;
