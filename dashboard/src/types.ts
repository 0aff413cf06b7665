// The hub's HTTP contract is the single source of truth for every shape the dashboard reads.
// Type-only: nothing from the hub is bundled into the dashboard.
export type {
  CreatedToken,
  CreateTokenRequest,
  Device,
  Fleet,
  IngestDrop,
  LiveEventMap,
  LoginRequest,
  LoginResponse,
  Overview,
  ProvisioningToken,
  Role,
  TelemetryPoint,
  TelemetrySeries,
  TelemetryUpdate,
  UpdateDeviceRequest,
  User,
} from '../../hub/src/contract';
