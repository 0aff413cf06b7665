import { Controller, Get, Inject, Res, type OnModuleDestroy } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { DomainError } from '../common/errors.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { DeviceFeedService } from './device-feed.service.js';
import { DevicesService } from './devices.service.js';
import { SseStream } from './sse-stream.js';

/** Open streams are capped so dashboards cannot exhaust the hub. */
export const MAX_STREAMS = 100;

@ApiTags('devices')
@ApiBearerAuth()
@Controller('events')
export class EventsController implements OnModuleDestroy {
  private readonly streams = new Set<SseStream>();
  private readonly gauge;

  constructor(
    private readonly feed: DeviceFeedService,
    private readonly devices: DevicesService,
    metrics: MetricsService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.gauge = metrics.gauge('pifleet_sse_streams', 'Open live device streams (GET /api/events)');
  }

  @Get()
  @ApiOperation({ summary: 'Live devices over SSE: `snapshot` {devices} first, then `device` on every change' })
  async stream(@Res() res: Response): Promise<void> {
    if (this.streams.size >= MAX_STREAMS) throw new DomainError('unavailable', `too many live streams (max ${MAX_STREAMS})`);
    let unsubscribe = (): void => undefined;
    const stream = new SseStream(
      res,
      () => this.devices.list(),
      () => {
        unsubscribe();
        this.streams.delete(stream);
        this.gauge.set(this.streams.size);
      },
    );
    this.streams.add(stream);
    this.gauge.set(this.streams.size);
    // Subscribe before reading the snapshot, so no change between the two is lost.
    unsubscribe = this.feed.subscribe((batch) => stream.push(batch));
    try {
      await stream.start();
    } catch (err) {
      this.log.warn({ err }, 'live stream: snapshot failed');
      stream.close();
    }
  }

  /** Open streams would keep the HTTP server from closing. */
  onModuleDestroy(): void {
    for (const s of [...this.streams]) s.close();
  }
}
