import { Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { HubConfig } from '../config/hub-config.js';
import { MetricsService } from '../common/metrics.service.js';
import { BROKER_ADMIN, DB, LOGGER } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { IngestDropsModule } from '../ingest/ingest-drops.module.js';
import { IngestDrops } from '../ingest/ingest-drops.service.js';
import { BrokerInfo } from './broker-info.js';
import { DynsecBroker } from './dynsec-broker.js';
import { EmbeddedBroker } from './embedded-broker.js';
import { MqttLink } from './mqtt-link.js';

/**
 * The MQTT side of the hub: the broker (embedded aedes, or Mosquitto via MQTT_URL), its access
 * control (BROKER_ADMIN), and the hub's own client (MqttLink). BrokerInfo.deviceUrl() is the URL
 * to hand to devices at enrollment (it knows the real port when PIFLEET_MQTT_PORT=0).
 */
@Module({
  imports: [IngestDropsModule],
  providers: [
    {
      provide: BrokerInfo,
      inject: [HubConfig, DB, LOGGER, MetricsService, IngestDrops],
      useFactory: (config: HubConfig, db: Db, log: Logger, metrics: MetricsService, drops: IngestDrops): BrokerInfo =>
        config.embeddedBroker
          ? new EmbeddedBroker(config, db, log.child({ mod: 'broker' }), metrics, drops)
          : new DynsecBroker(config, log.child({ mod: 'broker' })),
    },
    { provide: BROKER_ADMIN, useExisting: BrokerInfo },
    MqttLink,
  ],
  exports: [BrokerInfo, BROKER_ADMIN, MqttLink],
})
export class BrokerModule {}
