import { Controller, Delete, Get, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBasicAuth, ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { CurrentCaller, Public, Roles, type Caller } from '../auth/roles.decorator.js';
import { DomainError } from '../common/errors.js';
import type { BundleManifest, ImageBundle } from '../contract.js';
import { DeviceAuthGuard } from './device-auth.guard.js';
import { ImagesService } from './images.service.js';

/** Content types an archive may be sent as (curl --data-binary sends none of its own with -H). */
const ARCHIVE_TYPES = new Set(['application/octet-stream', 'application/x-tar', 'application/tar', 'application/gzip', 'application/x-gzip']);
/**
 * After refusing an upload early (too large, not an archive), the rest of the body is read and
 * dropped for this long, so the client gets to read the answer instead of a connection reset;
 * then the connection is closed.
 */
const LINGER_MS = 10_000;

function declaredLength(req: Request): number | undefined {
  const h = req.headers['content-length'];
  return h !== undefined && /^\d{1,16}$/.test(h) ? Number(h) : undefined;
}

/** Drops what is left of a refused upload's body (bounded in time), once the answer is out. */
function lingerAfterRefusal(req: Request, res: Response): void {
  if (req.readableEnded) return;
  res.once('finish', () => {
    const timer = setTimeout(() => req.socket?.destroy(), LINGER_MS);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
    req.resume();
  });
}

@ApiTags('image bundles')
@Controller('images')
export class ImagesController {
  constructor(private readonly images: ImagesService) {}

  @Post()
  @Roles('operator')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Upload a `docker save` archive (.tar or .tar.gz) as the raw body (operator+); the same archive again answers with the stored bundle' })
  @ApiConsumes('application/octet-stream')
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  async upload(@Req() req: Request, @Res({ passthrough: true }) res: Response, @CurrentCaller() caller: Caller): Promise<ImageBundle> {
    try {
      const type = (req.headers['content-type'] ?? 'application/octet-stream').split(';')[0]!.trim().toLowerCase();
      if (!ARCHIVE_TYPES.has(type)) {
        throw new DomainError('bad_request', `send the archive as the raw body with Content-Type: application/octet-stream (got ${type.slice(0, 64)})`);
      }
      const { bundle, created } = await this.images.upload(req, declaredLength(req), caller);
      res.status(created ? 201 : 200);
      return bundle;
    } catch (e) {
      lingerAfterRefusal(req, res);
      throw e;
    }
  }

  @Get()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'List image bundles, newest first' })
  list(): Promise<ImageBundle[]> {
    return this.images.list();
  }

  @Delete(':id')
  @Roles('operator')
  @ApiBearerAuth()
  @ApiOperation({ summary: "Remove an image bundle (operator+); 409 while a device's current release uses it" })
  remove(@Param('id') id: string, @CurrentCaller() caller: Caller): Promise<ImageBundle> {
    return this.images.remove(id, caller);
  }

  @Get(':id/manifest')
  @Public()
  @UseGuards(DeviceAuthGuard)
  @ApiBasicAuth()
  @ApiOperation({ summary: 'A bundle\'s size and per-chunk sha256 (devices: HTTP Basic, device id and MQTT password)' })
  manifest(@Param('id') id: string): Promise<BundleManifest> {
    return this.images.manifest(id);
  }

  @Get(':id/chunks/:n')
  @Public()
  @UseGuards(DeviceAuthGuard)
  @ApiBasicAuth()
  @ApiOperation({ summary: 'The n-th chunk of a bundle, from 0 (devices); ETag is its sha256' })
  async chunk(@Param('id') id: string, @Param('n') n: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    if (!/^\d{1,9}$/.test(n)) throw new DomainError('not_found', `chunk numbers are integers from 0; there is no chunk ${n.slice(0, 32)}`);
    const c = await this.images.openChunk(id, Number(n));
    const etag = `"${c.sha256}"`;
    try {
      res.setHeader('ETag', etag);
      // A chunk's bytes never change under its id; only the device itself should keep a copy.
      res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
      if (req.headers['if-none-match'] === etag) {
        res.status(304).end();
        return;
      }
      res.status(200);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', String(c.length));
      await pipeline(c.fh.createReadStream({ start: c.start, end: c.start + c.length - 1, autoClose: false }), res);
    } catch (e) {
      // The device went away mid-chunk: it resumes with this chunk; nothing to answer.
      if (!res.headersSent) throw e;
      res.destroy();
    } finally {
      await c.fh.close();
    }
  }
}
