import { Inject, Injectable } from '@nestjs/common';
import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import type { Role } from '../contract.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { apiTokens, users } from '../db/schema.js';

export interface SessionOwner {
  tokenId: string;
  userId: string;
  username: string;
  role: Role;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** Dashboard sessions and CLI tokens (api_tokens); rows hold only the SHA-256 of the secret. */
@Injectable()
export class SessionsRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  async insert(s: { id: string; userId: string; tokenHash: string; kind: 'session' | 'cli'; expiresAt: Date }): Promise<void> {
    await this.db.insert(apiTokens).values(s);
  }

  /** The live (unexpired, user not disabled) session with this hash, or null. */
  async findLive(tokenHash: string): Promise<SessionOwner | null> {
    const [row] = await this.db
      .select({
        tokenId: apiTokens.id,
        userId: users.id,
        username: users.username,
        role: users.role,
        createdAt: users.createdAt,
        lastUsedAt: apiTokens.lastUsedAt,
      })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(and(eq(apiTokens.tokenHash, tokenHash), gt(apiTokens.expiresAt, sql`now()`), isNull(users.disabledAt)))
      .limit(1);
    return row ?? null;
  }

  async touch(tokenId: string): Promise<void> {
    await this.db.update(apiTokens).set({ lastUsedAt: sql`now()` }).where(eq(apiTokens.id, tokenId));
  }

  async delete(tokenId: string): Promise<void> {
    await this.db.delete(apiTokens).where(eq(apiTokens.id, tokenId));
  }

  /** Drops expired rows so the table does not grow with every login. */
  async deleteExpired(): Promise<void> {
    await this.db.delete(apiTokens).where(lt(apiTokens.expiresAt, sql`now()`));
  }
}
