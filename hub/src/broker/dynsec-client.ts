import type { MqttClient } from 'mqtt';

export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_TOPIC}/response`;
const MAX_PENDING = 1000;

/** An error answered by the dynamic-security plugin (e.g. "Client not found"). */
export class DynsecError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(`${command}: ${message}`);
  }
}

interface Pending {
  resolve(data: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Mosquitto's dynamic-security control API: commands published on `$CONTROL/dynamic-security/v1`,
 * answers on `.../response` matched by the `correlationData` we put in each command. An answer that
 * never comes (broker restart, our connection kicked) rejects after `timeoutMs`.
 */
export class DynsecClient {
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private readonly prefix = Math.random().toString(36).slice(2, 8);

  constructor(
    private readonly client: MqttClient,
    private readonly timeoutMs = 5000,
  ) {
    client.on('message', (topic, payload) => {
      if (topic === DYNSEC_RESPONSE_TOPIC) this.onResponse(payload);
    });
  }

  command(command: string, args: Record<string, unknown> = {}, timeoutMs = this.timeoutMs): Promise<unknown> {
    if (this.pending.size >= MAX_PENDING) return Promise.reject(new Error('dynsec: too many commands in flight'));
    const correlationData = `${this.prefix}-${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationData);
        reject(new Error(`dynsec ${command}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationData, { resolve, reject, timer });
      const body = JSON.stringify({ commands: [{ command, ...args, correlationData }] });
      // QoS 1 so a command sent while reconnecting is queued by mqtt.js rather than lost.
      this.client.publish(DYNSEC_TOPIC, body, { qos: 1 }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(correlationData);
        reject(err);
      });
    });
  }

  close(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('dynsec client closed'));
      this.pending.delete(id);
    }
  }

  private onResponse(payload: Buffer): void {
    let parsed: { responses?: { command?: string; error?: string; data?: unknown; correlationData?: string }[] };
    try {
      parsed = JSON.parse(payload.toString('utf8')) as typeof parsed;
    } catch {
      return; // not ours to judge; an unparseable answer just lets the command time out
    }
    for (const r of parsed.responses ?? []) {
      const p = r.correlationData ? this.pending.get(r.correlationData) : undefined;
      if (!p || !r.correlationData) continue;
      this.pending.delete(r.correlationData);
      clearTimeout(p.timer);
      if (r.error) p.reject(new DynsecError(r.command ?? 'unknown', r.error));
      else p.resolve(r.data);
    }
  }
}
