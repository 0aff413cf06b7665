import { Inject, Injectable } from '@nestjs/common';
import type { Health } from '../contract.js';
import { BrokerInfo } from '../broker/broker-info.js';
import { MqttLink } from '../broker/mqtt-link.js';
import { DB_HANDLE } from '../common/tokens.js';
import type { DbHandle } from '../db/client.js';
import { HUB_VERSION } from '../http/version.js';

/** A DB ping slower than this counts as down, so a hung database cannot hang health checks. */
const PING_TIMEOUT_MS = 2_000;

@Injectable()
export class HealthService {
  constructor(
    @Inject(DB_HANDLE) private readonly db: DbHandle,
    private readonly broker: BrokerInfo,
    private readonly mqtt: MqttLink,
  ) {}

  async check(): Promise<Health> {
    const db = await this.pingDb();
    const mqtt = this.mqtt.isConnected() ? 'ok' : 'down';
    return {
      status: db === 'ok' && mqtt === 'ok' ? 'ok' : 'degraded',
      version: HUB_VERSION,
      db,
      mqtt,
      broker: this.broker.mode,
    };
  }

  private async pingDb(): Promise<'ok' | 'down'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'down'>((resolve) => (timer = setTimeout(() => resolve('down'), PING_TIMEOUT_MS)));
    try {
      return await Promise.race([this.db.ping().then(() => 'ok' as const), timeout]);
    } catch {
      return 'down';
    } finally {
      clearTimeout(timer);
    }
  }
}
