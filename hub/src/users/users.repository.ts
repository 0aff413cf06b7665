import { Inject, Injectable } from '@nestjs/common';
import { asc, eq } from 'drizzle-orm';
import type { Role, User } from '../contract.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { users, type UserRow } from '../db/schema.js';
import { isUniqueViolation } from '../db/errors.js';
import { iso } from '../http/iso.js';

/** What auth needs to check a password; never leaves the hub. */
export interface UserCredentials {
  user: User;
  passwordHash: string;
  disabled: boolean;
}

@Injectable()
export class UsersRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  async list(): Promise<User[]> {
    const rows = await this.db.select().from(users).orderBy(asc(users.createdAt));
    return rows.map(toUser);
  }

  async findCredentials(username: string): Promise<UserCredentials | null> {
    const [row] = await this.db.select().from(users).where(eq(users.username, username)).limit(1);
    return row ? { user: toUser(row), passwordHash: row.passwordHash, disabled: row.disabledAt !== null } : null;
  }

  /** Returns null when the username is taken. */
  async insert(u: { id: string; username: string; passwordHash: string; role: Role }): Promise<User | null> {
    try {
      const [row] = await this.db.insert(users).values(u).returning();
      return row ? toUser(row) : null;
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  /** Inserts unless the username exists (first start, possibly on several hubs at once). */
  async insertIfMissing(u: { id: string; username: string; passwordHash: string; role: Role }): Promise<boolean> {
    const rows = await this.db.insert(users).values(u).onConflictDoNothing({ target: users.username }).returning({ id: users.id });
    return rows.length > 0;
  }

  async setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.db.update(users).set({ passwordHash }).where(eq(users.id, userId));
  }
}

function toUser(r: UserRow): User {
  return { id: r.id, username: r.username, role: r.role, createdAt: iso(r.createdAt) };
}
