import { Inject, Injectable } from '@nestjs/common';
import { and, desc, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { fleets, provisioningTokens } from '../db/schema.js';

/** A provisioning token as the services see it (no hash, fleet by name). */
export interface TokenRecord {
  id: string;
  fleetId: string;
  fleet: string;
  prefix: string;
  maxUses: number;
  uses: number;
  expiresAt: Date;
  revokedAt: Date | null;
  createdAt: Date;
}

const columns = {
  id: provisioningTokens.id,
  fleetId: provisioningTokens.fleetId,
  fleet: fleets.name,
  prefix: provisioningTokens.prefix,
  maxUses: provisioningTokens.maxUses,
  uses: provisioningTokens.uses,
  expiresAt: provisioningTokens.expiresAt,
  revokedAt: provisioningTokens.revokedAt,
  createdAt: provisioningTokens.createdAt,
};

@Injectable()
export class TokensRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  async insert(t: {
    id: string;
    fleetId: string;
    tokenHash: string;
    prefix: string;
    maxUses: number;
    expiresAt: Date;
    createdBy: string;
  }): Promise<void> {
    await this.db.insert(provisioningTokens).values(t);
  }

  async list(): Promise<TokenRecord[]> {
    return this.db
      .select(columns)
      .from(provisioningTokens)
      .innerJoin(fleets, eq(fleets.id, provisioningTokens.fleetId))
      .orderBy(desc(provisioningTokens.createdAt));
  }

  async findById(id: string): Promise<TokenRecord | null> {
    const [row] = await this.select().where(eq(provisioningTokens.id, id)).limit(1);
    return row ?? null;
  }

  async findByHash(tokenHash: string): Promise<TokenRecord | null> {
    const [row] = await this.select().where(eq(provisioningTokens.tokenHash, tokenHash)).limit(1);
    return row ?? null;
  }

  /** Idempotent: a second revoke keeps the first timestamp. */
  async revoke(id: string): Promise<void> {
    await this.db
      .update(provisioningTokens)
      .set({ revokedAt: sql`coalesce(${provisioningTokens.revokedAt}, now())` })
      .where(eq(provisioningTokens.id, id));
  }

  /**
   * Takes one use of the token in a single statement, so concurrent enrollments can never exceed
   * max_uses. Returns the token id and fleet, or null when the token is unusable for any reason.
   */
  async consume(tokenHash: string): Promise<{ id: string; fleetId: string } | null> {
    const [row] = await this.db
      .update(provisioningTokens)
      .set({ uses: sql`${provisioningTokens.uses} + 1` })
      .where(
        and(
          eq(provisioningTokens.tokenHash, tokenHash),
          lt(provisioningTokens.uses, provisioningTokens.maxUses),
          isNull(provisioningTokens.revokedAt),
          gt(provisioningTokens.expiresAt, sql`now()`),
        ),
      )
      .returning({ id: provisioningTokens.id, fleetId: provisioningTokens.fleetId });
    return row ?? null;
  }

  /** Gives back a use taken by consume() when the enrollment could not finish. */
  async release(id: string): Promise<void> {
    await this.db
      .update(provisioningTokens)
      .set({ uses: sql`greatest(${provisioningTokens.uses} - 1, 0)` })
      .where(eq(provisioningTokens.id, id));
  }

  private select() {
    return this.db.select(columns).from(provisioningTokens).innerJoin(fleets, eq(fleets.id, provisioningTokens.fleetId)).$dynamic();
  }
}
