import type { ApplyError } from '@pifleet/protocol';
import { EngineError } from '../engine/engine.js';
import { describeStep, stepService, type Step } from './steps.js';

/** A step that failed, with what it was; the applier throws it, the runner reports it. */
export class StepError extends Error {
  constructor(
    readonly step: Step,
    override readonly cause: unknown,
  ) {
    super(`${describeStep(step)}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StepError';
  }
}

/** A desired app the agent refuses to apply (see validate-app.ts); never retried. */
export class InvalidSpecError extends Error {
  constructor(
    readonly app: string,
    readonly service: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidSpecError';
  }
}

const MAX_MESSAGE = 1024;

/**
 * The operator's reading of a failure: the engine's own code where it has one (a full disk, a
 * port taken), `image_download_failed` for a bundle that could not be fetched, and
 * `engine_error` for anything else.
 */
export function toApplyError(err: unknown, at: number): ApplyError {
  const step = err instanceof StepError ? err.step : undefined;
  const cause = err instanceof StepError ? err.cause : err;
  let code: ApplyError['code'];
  if (err instanceof InvalidSpecError) code = 'invalid_spec';
  else if (cause instanceof EngineError) {
    switch (cause.code) {
      case 'engine_down':
      case 'image_missing':
      case 'image_pull_failed':
      case 'disk_full':
      case 'port_conflict':
        code = cause.code;
        break;
      default:
        code = 'engine_error';
    }
  } else if (step?.action === 'fetchImage' && step.bundle) code = 'image_download_failed';
  else code = 'engine_error';
  const message = err instanceof Error ? err.message : String(err);
  const out: ApplyError = { code, message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message, at };
  const where = err instanceof InvalidSpecError ? { app: err.app, service: err.service } : step ? stepService(step) : {};
  if (where.app !== undefined) out.app = where.app;
  if (where.service !== undefined) out.service = where.service;
  return out;
}
