import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Fleet } from '../contract.js';
import { DomainError } from '../common/errors.js';
import { randomId } from '../common/ids.js';
import { FleetsRepository } from './fleets.repository.js';

export const DEFAULT_FLEET = 'default';

@Injectable()
export class FleetsService implements OnApplicationBootstrap {
  constructor(private readonly repo: FleetsRepository) {}

  /** A fleet named `default` exists from the first start. */
  async onApplicationBootstrap(): Promise<void> {
    await this.repo.insertIfMissing(randomId(16), DEFAULT_FLEET);
  }

  list(): Promise<Fleet[]> {
    return this.repo.list();
  }

  async create(name: string): Promise<Fleet> {
    const fleet = await this.repo.insert(randomId(16), name);
    if (!fleet) throw new DomainError('conflict', `fleet ${name} already exists`);
    return fleet;
  }

  async require(name: string): Promise<{ id: string; name: string }> {
    const fleet = await this.repo.findByName(name);
    if (!fleet) throw new DomainError('not_found', `no fleet named ${name}`);
    return fleet;
  }
}
