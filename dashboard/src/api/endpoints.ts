import { request } from './client';
import type {
  CreatedToken,
  CreateTokenRequest,
  Device,
  Fleet,
  IngestDrop,
  LoginResponse,
  Overview,
  ProvisioningToken,
  TelemetrySeries,
  UpdateDeviceRequest,
  User,
} from '../types';

/** One function per route of hub/src/contract.ts that the dashboard uses. */
const enc = encodeURIComponent;

export const api = {
  login: (username: string, password: string) =>
    request<LoginResponse>('POST', '/api/auth/login', { username, password, kind: 'session' }),
  logout: () => request<void>('POST', '/api/auth/logout'),
  me: () => request<User>('GET', '/api/auth/me'),

  overview: (signal?: AbortSignal) => request<Overview>('GET', '/api/overview', undefined, signal),
  fleets: () => request<Fleet[]>('GET', '/api/fleets'),

  device: (idOrName: string, signal?: AbortSignal) =>
    request<Device>('GET', `/api/devices/${enc(idOrName)}`, undefined, signal),
  updateDevice: (idOrName: string, patch: UpdateDeviceRequest) =>
    request<Device>('PATCH', `/api/devices/${enc(idOrName)}`, patch),
  revokeDevice: (idOrName: string) => request<Device>('POST', `/api/devices/${enc(idOrName)}/revoke`),
  telemetry: (idOrName: string, from: Date, signal?: AbortSignal) =>
    request<TelemetrySeries>(
      'GET',
      `/api/devices/${enc(idOrName)}/telemetry?resolution=auto&from=${enc(from.toISOString())}`,
      undefined,
      signal,
    ),

  drops: (idOrName: string, signal?: AbortSignal) =>
    request<IngestDrop[]>('GET', `/api/devices/${enc(idOrName)}/drops`, undefined, signal),

  tokens: () => request<ProvisioningToken[]>('GET', '/api/tokens'),
  createToken: (body: CreateTokenRequest) => request<CreatedToken>('POST', '/api/tokens', body),
  revokeToken: (id: string) => request<ProvisioningToken>('DELETE', `/api/tokens/${enc(id)}`),
};
