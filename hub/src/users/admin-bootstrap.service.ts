import { chmodSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { HubConfig } from '../config/hub-config.js';
import { randomId } from '../common/ids.js';
import { LOGGER } from '../common/tokens.js';
import { checkPassword, hashPassword } from './passwords.js';
import { UsersRepository } from './users.repository.js';

export const ADMIN_USERNAME = 'admin';
export const INITIAL_PASSWORD_FILE = 'initial-admin-password';

/** How the operator logs in the first time; the start banner tells it, nothing logs it. */
export interface AdminLogin {
  username: string;
  /** Known only when it came from PIFLEET_ADMIN_PASSWORD or the initial-password file. */
  password: string | null;
  /**
   * `generated`: made by this start (the banner shows it, this once); `file`: made by an earlier
   * start and still in `file` (the banner points there); `env`: PIFLEET_ADMIN_PASSWORD; `unknown`:
   * made earlier and the file deleted.
   */
  source: 'env' | 'generated' | 'file' | 'unknown';
  file: string;
}

/**
 * Creates the `admin` user on first start. The password is PIFLEET_ADMIN_PASSWORD when set (and
 * then kept in sync with it, so the env stays the source of truth), otherwise generated once and
 * left in `<dataDir>/initial-admin-password` (0600) until the operator deletes it.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private login: AdminLogin | undefined;

  constructor(
    private readonly repo: UsersRepository,
    private readonly config: HubConfig,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  adminLogin(): AdminLogin {
    if (!this.login) throw new Error('admin bootstrap has not run');
    return this.login;
  }

  async onApplicationBootstrap(): Promise<void> {
    const file = join(this.config.dataDir, INITIAL_PASSWORD_FILE);
    const envPassword = this.config.adminPassword;
    const existing = await this.repo.findCredentials(ADMIN_USERNAME);
    if (envPassword) {
      if (!existing) {
        await this.repo.insertIfMissing({ id: randomId(16), username: ADMIN_USERNAME, passwordHash: await hashPassword(envPassword), role: 'admin' });
      } else if (!(await checkPassword(envPassword, existing.passwordHash))) {
        await this.repo.setPasswordHash(existing.user.id, await hashPassword(envPassword));
        this.log.info('admin password updated from PIFLEET_ADMIN_PASSWORD');
      }
      this.login = { username: ADMIN_USERNAME, password: envPassword, source: 'env', file };
      return;
    }
    if (!existing) {
      const password = randomId(20);
      const created = await this.repo.insertIfMissing({ id: randomId(16), username: ADMIN_USERNAME, passwordHash: await hashPassword(password), role: 'admin' });
      if (created) {
        mkdirSync(this.config.dataDir, { recursive: true });
        writeFileSync(file, password + '\n', { mode: 0o600 });
        chmodSync(file, 0o600);
        this.log.info({ file }, 'admin user created with a generated password');
        this.login = { username: ADMIN_USERNAME, password, source: 'generated', file };
        return;
      }
    }
    // Terminal scrollback and captured stdout (journald, docker logs) keep every start's banner,
    // so only the start that made the password shows it; later ones point at the file.
    const fromFile = existsSync(file) ? readFileSync(file, 'utf8').trim() : null;
    this.login = { username: ADMIN_USERNAME, password: fromFile, source: fromFile ? 'file' : 'unknown', file };
  }
}
