import { Controller, Get, Inject, Req, Res, type OnModuleDestroy } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { tokenOf } from '../auth/auth.guard.js';
import { AuthService } from '../auth/auth.service.js';
import type { Caller } from '../auth/roles.decorator.js';
import { DomainError } from '../common/errors.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { DeviceFeedService } from './device-feed.service.js';
import { DevicesService } from './devices.service.js';
import { SseStream } from './sse-stream.js';

/** Open streams are capped so dashboards cannot exhaust the hub. */
export const MAX_STREAMS = 100;
/**
 * And per user (whatever the role), so one user's forgotten tabs or a script cannot take every
 * stream and lock the others out of the live view; ten is plenty of tabs for one person.
 */
export const MAX_STREAMS_PER_USER = 10;
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
  /** Open streams by user id; an entry is removed when its count drops to zero. */
  private readonly perUser = new Map<string, number>();
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
    const caller = (req as Request & { caller?: Caller }).caller;
    if (!caller) throw new DomainError('unauthenticated', 'login required');
    const userId = caller.userId;
    // Checked (and counted below) with no await in between, so concurrent opens cannot overshoot.
    if ((this.perUser.get(userId) ?? 0) >= MAX_STREAMS_PER_USER) {
      throw new DomainError(
        'too_many_requests',
        `you already have ${MAX_STREAMS_PER_USER} live streams open, the most one user may have; close another dashboard tab or window and retry`,
      );
    }
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
        const left = (this.perUser.get(userId) ?? 1) - 1;
        if (left > 0) this.perUser.set(userId, left);
        else this.perUser.delete(userId);
        this.gauge.set(this.streams.size);
      },
    );
    this.streams.add(stream);
    this.perUser.set(userId, (this.perUser.get(userId) ?? 0) + 1);
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
