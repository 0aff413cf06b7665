import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { PROTOCOL_VERSION, type EnrollRequest, type EnrollResponse } from '@pifleet/protocol';
import { BrokerInfo } from '../broker/broker-info.js';
import { DomainEvents } from '../common/domain-events.js';
import { DomainError } from '../common/errors.js';
import { randomId, randomSecret, sha256 } from '../common/ids.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { HubConfig } from '../config/hub-config.js';
import { baseName } from '../devices/device-names.js';
import { DevicesRepository } from '../devices/devices.repository.js';
import { tokenState } from '../tokens/token-state.js';
import { TokensRepository } from '../tokens/tokens.repository.js';

/** What this hub supports, announced at enrollment (EnrollResponse.features). */
const HUB_FEATURES = ['supervision', 'image-bundles'];

const REASON_MESSAGE = {
  token_invalid: 'unknown provisioning token',
  token_expired: 'provisioning token has expired',
  token_exhausted: 'provisioning token has no uses left',
  token_revoked: 'provisioning token was revoked',
} as const;

/**
 * Enrollment: a provisioning token buys one device identity and its own MQTT
 * credential. The token use is taken atomically first; if anything later fails, the device row
 * and the token use are given back, so a failed enrollment changes nothing.
 */
@Injectable()
export class EnrollmentService {
  private readonly failures;
  private readonly enrolled;

  constructor(
    private readonly tokens: TokensRepository,
    private readonly devices: DevicesRepository,
    private readonly broker: BrokerInfo,
    private readonly events: DomainEvents,
    private readonly config: HubConfig,
    metrics: MetricsService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.failures = metrics.counter('pifleet_enroll_failures_total', 'Refused enrollments, by reason', ['reason']);
    this.enrolled = metrics.counter('pifleet_enrollments_total', 'Devices enrolled');
  }

  async enroll(req: EnrollRequest): Promise<EnrollResponse> {
    const hash = sha256(req.token);
    const use = await this.tokens.consume(hash);
    if (!use) throw await this.refusal(hash);

    const deviceId = randomId(12);
    const password = randomSecret();
    let name: string;
    try {
      name = await this.devices.insertWithUniqueName(baseName(deviceId, req.name, req.info?.hostname), {
        id: deviceId,
        fleetId: use.fleetId,
        publicKey: req.publicKey,
        mqttSecretHash: sha256(password),
        info: req.info ?? {},
        enrolledWith: use.id,
      });
    } catch (err) {
      await this.tokens.release(use.id);
      throw err;
    }
    try {
      await this.broker.addDevice(deviceId, password);
    } catch (err) {
      this.log.error({ err, deviceId }, 'broker refused the new device; enrollment rolled back');
      await this.devices.delete(deviceId);
      await this.tokens.release(use.id);
      this.failures.inc({ reason: 'broker' });
      throw new DomainError('unavailable', 'the MQTT broker is not available; try again');
    }
    const device = await this.devices.findByIdOrName(deviceId);
    this.enrolled.inc();
    this.events.emit('device.changed', { deviceId });
    this.log.info({ deviceId, name, fleet: device?.fleet, tokenId: use.id }, 'device enrolled');
    return {
      deviceId,
      name,
      fleet: device?.fleet ?? '',
      mqtt: { url: this.broker.deviceUrl(), username: deviceId, password, clientId: deviceId },
      protocolVersion: PROTOCOL_VERSION,
      api: { url: this.config.publicUrl },
      features: HUB_FEATURES,
    };
  }

  /** Explains why consume() refused the token; the answer names the reason (all 401). */
  private async refusal(hash: string): Promise<DomainError> {
    const t = await this.tokens.findByHash(hash);
    const state = t ? tokenState(t, new Date()) : 'invalid';
    // 'active' here means a concurrent enrollment took the last use between the two reads.
    const code = state === 'active' || state === 'exhausted' ? 'token_exhausted' : (`token_${state}` as const);
    this.failures.inc({ reason: code.slice('token_'.length) });
    return new DomainError(code, REASON_MESSAGE[code]);
  }
}
