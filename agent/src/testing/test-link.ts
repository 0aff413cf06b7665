import { connect } from 'mqtt';
import type { Logger } from '../log/logger.js';
import { MqttLink, type MqttLinkOptions } from '../mqtt/mqtt-link.js';
import { Backoff } from '../util/backoff.js';
import { enrolled } from './enroll-server.js';

/**
 * A real MqttLink of the test device to the broker at `url`, not started: backoffs of tens of
 * milliseconds so reconnects happen within a test, sessions counted from 1 unless told.
 */
export function testLink(url: string, log: Logger, over: Partial<Pick<MqttLinkOptions, 'onUp' | 'nextSession'>> = {}): MqttLink {
  let session = 0;
  return new MqttLink({
    identity: { ...enrolled(url), enrolledAt: 0 },
    info: {},
    keepaliveS: 5,
    connect,
    nextSession: async () => ++session,
    log,
    backoff: new Backoff({ baseMs: 50, capMs: 200 }),
    refusedBackoff: new Backoff({ baseMs: 50, capMs: 200 }),
    ...over,
  });
}
