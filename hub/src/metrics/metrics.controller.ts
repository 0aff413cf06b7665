import { Controller, Get, Header } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MetricsService } from '../common/metrics.service.js';

/** Prometheus text format at /metrics (outside the /api prefix, where scrapers look). */
@ApiTags('metrics')
@ApiBearerAuth()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics (viewer+)' })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
