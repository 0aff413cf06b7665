import { Injectable } from '@nestjs/common';
import type { LoginResponse } from '../contract.js';
import { DomainError } from '../common/errors.js';
import { randomId, randomSecret, sha256 } from '../common/ids.js';
import { MetricsService } from '../common/metrics.service.js';
import { DUMMY_HASH, checkPassword } from '../users/passwords.js';
import { UsersRepository } from '../users/users.repository.js';
import type { LoginInput } from './auth.dto.js';
import type { Caller } from './roles.decorator.js';
import { SessionsRepository } from './sessions.repository.js';

const TTL_MS = { session: 12 * 3600_000, cli: 30 * 24 * 3600_000 } as const;
/** lastUsedAt is informative only; writing it at most once a minute keeps reads cheap. */
const TOUCH_EVERY_MS = 60_000;

@Injectable()
export class AuthService {
  private readonly failures;

  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    metrics: MetricsService,
  ) {
    this.failures = metrics.counter('pifleet_auth_failures_total', 'Rejected logins and API calls with a bad token', ['reason']);
  }

  async login(req: LoginInput): Promise<LoginResponse> {
    const creds = await this.users.findCredentials(req.username);
    // Always run bcrypt, so an unknown user and a wrong password look the same from outside.
    const ok = await checkPassword(req.password, creds?.passwordHash ?? DUMMY_HASH);
    if (!creds || !ok || creds.disabled) {
      this.failures.inc({ reason: 'login' });
      throw new DomainError('unauthenticated', 'invalid username or password');
    }
    const token = randomSecret('pfs_');
    const expiresAt = new Date(Date.now() + TTL_MS[req.kind]);
    await this.sessions.insert({ id: randomId(16), userId: creds.user.id, tokenHash: sha256(token), kind: req.kind, expiresAt });
    await this.sessions.deleteExpired();
    return { token, expiresAt: expiresAt.toISOString(), user: creds.user };
  }

  /**
   * Resolves a bearer token or session cookie on every request. No cache: a revoked or expired
   * token stops working on the very next call.
   */
  async authenticate(token: string | undefined): Promise<Caller> {
    if (!token) {
      this.failures.inc({ reason: 'missing' });
      throw new DomainError('unauthenticated', 'login required');
    }
    const s = await this.sessions.findLive(sha256(token));
    if (!s) {
      this.failures.inc({ reason: 'invalid' });
      throw new DomainError('unauthenticated', 'invalid or expired token');
    }
    if (!s.lastUsedAt || Date.now() - s.lastUsedAt.getTime() > TOUCH_EVERY_MS) await this.sessions.touch(s.tokenId);
    return { userId: s.userId, username: s.username, role: s.role, createdAt: s.createdAt.toISOString(), tokenId: s.tokenId };
  }

  async logout(caller: Caller): Promise<void> {
    await this.sessions.delete(caller.tokenId);
  }

  forbidden(): void {
    this.failures.inc({ reason: 'forbidden' });
  }
}
