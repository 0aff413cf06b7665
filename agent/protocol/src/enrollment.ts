import { z } from 'zod';
import { DeviceInfoSchema } from './messages.js';
import { NAME_PATTERN } from './limits.js';

/** POST /api/enroll — the only call a device makes with its single-use provisioning token. */
export const EnrollRequestSchema = z.object({
  token: z.string().min(8).max(256),
  /** Requested device name; the hub makes it unique if taken. Defaults to the hostname. */
  name: z.string().regex(NAME_PATTERN).optional(),
  /** The device's own public key (OpenSSH `ssh-ed25519 AAAA...` form), generated on the device. */
  publicKey: z.string().min(16).max(1024),
  info: DeviceInfoSchema.optional(),
});
export type EnrollRequest = z.infer<typeof EnrollRequestSchema>;

export const EnrollResponseSchema = z.object({
  deviceId: z.string(),
  name: z.string(),
  fleet: z.string(),
  mqtt: z.object({
    /** Where the device connects, e.g. mqtt://hub.example:1883 or mqtts://… */
    url: z.string(),
    username: z.string(),
    password: z.string(),
    clientId: z.string(),
  }),
  protocolVersion: z.number().int(),
  /**
   * Added fields (older hubs omit them, older agents ignore them, so no protocol bump):
   * `api.url` is the hub's public HTTP base the device uses for downloads (image bundles), which
   * can differ from the address it enrolled through; `features` names what this hub supports
   * (`supervision`, `image-bundles`), so an agent can tell a hub that would ignore a leaf.
   */
  api: z.object({ url: z.string() }).optional(),
  features: z.array(z.string().max(64)).max(64).optional(),
});
export type EnrollResponse = z.infer<typeof EnrollResponseSchema>;

/** Error body of every failed HTTP call to the hub. */
export const ApiErrorSchema = z.object({ code: z.string(), message: z.string() });
export type ApiError = z.infer<typeof ApiErrorSchema>;
