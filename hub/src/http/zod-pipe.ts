import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { describeZodIssues } from '../common/global-exception.filter.js';
import { DomainError } from '../common/errors.js';

/**
 * Validates a body or query at the edge (validate once, then work with typed values).
 * A failure is a 400 `bad_request` naming the bad fields; nothing downstream runs.
 */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    return parseOrThrow(this.schema, value);
  }
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new DomainError('bad_request', describeZodIssues(r.error.issues));
  return r.data;
}
