import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { Role } from '../contract.js';
import { DomainError } from '../common/errors.js';
import { SESSION_COOKIE } from './auth.dto.js';
import { AuthService } from './auth.service.js';
import { PUBLIC_KEY, ROLE_KEY, roleAllows, type Caller } from './roles.decorator.js';

/**
 * Global guard: every route needs a valid token unless marked @Public(), and the caller's role
 * must reach the route's @Roles() (default viewer). Enforced server side only.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const req = ctx.switchToHttp().getRequest<Request & { caller?: Caller }>();
    const caller = await this.auth.authenticate(tokenOf(req));
    req.caller = caller;
    const least = this.reflector.getAllAndOverride<Role>(ROLE_KEY, targets) ?? 'viewer';
    if (!roleAllows(caller.role, least)) {
      this.auth.forbidden();
      throw new DomainError('forbidden', `needs role ${least} or higher; you are ${caller.role}`);
    }
    return true;
  }
}

/** Bearer header (CLI/API) first, then the dashboard's HttpOnly cookie. */
export function tokenOf(req: Request): string | undefined {
  const h = req.headers.authorization;
  if (h) {
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    return m?.[1];
  }
  return cookie(req.headers.cookie, SESSION_COOKIE);
}

/**
 * The named cookie's value, read leniently: browsers send whatever other sites on the same host
 * set, so a value that does not percent-decode is skipped (no session) instead of failing the
 * request. A later well-formed cookie of the same name still counts.
 */
export function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // malformed percent-escape: not a session we could have set
    }
  }
  return undefined;
}
