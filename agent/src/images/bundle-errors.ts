import type { ApplyError } from '@pifleet/protocol';
import { EngineError } from '../engine/engine.js';

/**
 * Why a bundle could not be made available, typed so the supervisor reports it as is: a full
 * disk is an EngineError('disk_full') like the engine's own (the same ApplyError code, whichever
 * of the two ran out of room); anything else about getting the bundle is `image_download_failed`.
 */

export type BundleErrorCode = Extract<ApplyError['code'], 'image_download_failed' | 'disk_full'>;

export class BundleDownloadError extends Error {
  readonly code = 'image_download_failed' satisfies BundleErrorCode;
  constructor(
    message: string,
    /** False when trying again cannot help (credentials refused, bundle gone, untrusted certificate). */
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BundleDownloadError';
  }
}

export class BundleDiskFullError extends EngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('disk_full', message, options);
    this.name = 'BundleDiskFullError';
  }
}

export const isDiskFull = (e: unknown): boolean => ['ENOSPC', 'EDQUOT'].includes((e as NodeJS.ErrnoException)?.code ?? '');
