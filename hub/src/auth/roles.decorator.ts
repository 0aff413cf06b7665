import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Role } from '../contract.js';

export const PUBLIC_KEY = 'pifleet:public';
export const ROLE_KEY = 'pifleet:role';

/** Open to anyone (login, enroll, health). Every other route needs a valid session or token. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_KEY, true);

/** Least role allowed; roles are ordered admin > operator > viewer. Default: viewer. */
export const Roles = (least: Role): MethodDecorator & ClassDecorator => SetMetadata(ROLE_KEY, least);

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function roleAllows(have: Role, least: Role): boolean {
  return RANK[have] >= RANK[least];
}

/** Who is calling; set by the AuthGuard on every authenticated request. */
export interface Caller {
  userId: string;
  username: string;
  role: Role;
  createdAt: string;
  /** api_tokens.id of the session/token used, so logout can revoke exactly that one. */
  tokenId: string;
}

export const CurrentCaller = createParamDecorator((_: unknown, ctx: ExecutionContext): Caller => {
  const req = ctx.switchToHttp().getRequest<{ caller?: Caller }>();
  if (!req.caller) throw new Error('CurrentCaller used on a public route');
  return req.caller;
});
