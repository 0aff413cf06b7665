import { request } from './client';
import type {
  Alert,
  AppSummary,
  ApplyAppRequest,
  ApplyAppResult,
  CreatedToken,
  CreateTokenRequest,
  Device,
  DeviceContainers,
  Fleet,
  IngestDrop,
  LoginResponse,
  Overview,
  ProvisioningToken,
  Release,
  RollbackRequest,
  ServiceActionRequest,
  ServiceEvent,
  ServiceRecord,
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

  // Supervision: what runs on a device, its history, and the operator's levers.
  containers: (idOrName: string, signal?: AbortSignal) =>
    request<DeviceContainers>('GET', `/api/devices/${enc(idOrName)}/containers`, undefined, signal),
  serviceHistory: (idOrName: string, app: string, service: string, limit: number, signal?: AbortSignal) =>
    request<ServiceEvent[]>(
      'GET',
      `/api/devices/${enc(idOrName)}/services/${enc(app)}/${enc(service)}/history?limit=${limit}`,
      undefined,
      signal,
    ),
  serviceAction: (idOrName: string, body: ServiceActionRequest) =>
    request<DeviceContainers>('POST', `/api/devices/${enc(idOrName)}/services/action`, body),
  troubles: (fleet: string, signal?: AbortSignal) =>
    request<ServiceRecord[]>('GET', `/api/fleets/${enc(fleet)}/troubles`, undefined, signal),

  openAlerts: (signal?: AbortSignal) => request<Alert[]>('GET', '/api/alerts?open=true', undefined, signal),
  ackAlert: (id: string) => request<Alert>('POST', `/api/alerts/${enc(id)}/ack`),

  // Apps: compose files applied to a fleet or one device, as numbered releases.
  apps: (fleet?: string, signal?: AbortSignal) =>
    request<AppSummary[]>('GET', fleet ? `/api/apps?fleet=${enc(fleet)}` : '/api/apps', undefined, signal),
  applyApp: (body: ApplyAppRequest) => request<ApplyAppResult>('POST', '/api/apps/apply', body),
  releases: (fleet: string, app: string, signal?: AbortSignal) =>
    request<Release[]>('GET', `/api/apps/${enc(fleet)}/${enc(app)}/releases`, undefined, signal),
  rollback: (fleet: string, app: string, body: RollbackRequest) =>
    request<ApplyAppResult>('POST', `/api/apps/${enc(fleet)}/${enc(app)}/rollback`, body),
};
