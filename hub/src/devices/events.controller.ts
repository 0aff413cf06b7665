import { Controller, Get, Inject, Req, Res, type OnModuleDestroy } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { tokenOf } from '../auth/auth.guard.js';
import { AuthService } from '../auth/auth.service.js';
import { DomainError } from '../common/errors.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { DeviceFeedService } from './device-feed.service.js';
import { DevicesService } from './devices.service.js';
import { SseStream } from './sse-stream.js';

/** Open streams are capped so dashboards cannot exhaust the hub. */
export const MAX_STREAMS = 100;
/**
 * A stream is one long request, so its credential is checked again on this period: a logout, an
 * expired session or a removed user ends the stream instead of leaving it open for hours.
 */
export const REVALIDATE_MS = 5000;

@ApiTags('devices')
@ApiBearerAuth()
@Controller('events')
export class EventsController implements OnModuleDestroy {
  private readonly streams = new Set<SseStream>();
  private readonly gauge;

  constructor(
    private readonly feed: DeviceFeedService,
    private readonly devices: DevicesService,
    private readonly auth: AuthService,
    metrics: MetricsService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.gauge = metrics.gauge('pifleet_sse_streams', 'Open live device streams (GET /api/events)');
  }

  @Get()
  @ApiOperation({ summary: 'Live devices over SSE: `snapshot` {devices} first, then `device` on every change' })
  async stream(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (this.streams.size >= MAX_STREAMS) throw new DomainError('unavailable', `too many live streams (max ${MAX_STREAMS})`);
    const token = tokenOf(req);
    let unsubscribe = (): void => undefined;
    let recheck: NodeJS.Timeout | undefined = undefined;
    const stream = new SseStream(
      res,
      () => this.devices.list(),
      () => {
        unsubscribe();
        clearInterval(recheck);
        this.streams.delete(stream);
        this.gauge.set(this.streams.size);
      },
    );
    this.streams.add(stream);
    this.gauge.set(this.streams.size);
    // Subscribe before reading the snapshot, so no change between the two is lost.
    unsubscribe = this.feed.subscribe((batch) => stream.push(batch));
    recheck = setInterval(() => {
      this.auth.authenticate(token).catch((err: unknown) => {
        // Only a refused credential ends the stream; a database hiccup does not.
        if (err instanceof DomainError) stream.close();
      });
    }, REVALIDATE_MS);
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
