import { Injectable } from '@nestjs/common';
import type { CreatedToken, ProvisioningToken } from '../contract.js';
import { HubConfig } from '../config/hub-config.js';
import { DomainError } from '../common/errors.js';
import { randomId, randomSecret, sha256 } from '../common/ids.js';
import { FleetsService } from '../fleets/fleets.service.js';
import { iso } from '../http/iso.js';
import type { CreateTokenInput } from './tokens.dto.js';
import { TOKEN_PREFIX, VISIBLE_CHARS, tokenState } from './token-state.js';
import { TokensRepository, type TokenRecord } from './tokens.repository.js';

@Injectable()
export class TokensService {
  constructor(
    private readonly repo: TokensRepository,
    private readonly fleets: FleetsService,
    private readonly config: HubConfig,
  ) {}

  async create(req: CreateTokenInput, createdBy: string): Promise<CreatedToken> {
    const fleet = await this.fleets.require(req.fleet);
    const token = randomSecret(TOKEN_PREFIX);
    const id = randomId(16);
    await this.repo.insert({
      id,
      fleetId: fleet.id,
      tokenHash: sha256(token),
      prefix: token.slice(0, VISIBLE_CHARS),
      maxUses: req.maxUses,
      expiresAt: new Date(Date.now() + req.ttlSeconds * 1000),
      createdBy,
    });
    const rec = await this.repo.findById(id);
    if (!rec) throw new Error('token vanished after insert');
    return { ...toView(rec), token, agentCommand: this.agentCommand(token) };
  }

  async list(): Promise<ProvisioningToken[]> {
    return (await this.repo.list()).map(toView);
  }

  /** Accepts the token id or the token itself (what an operator has at hand). */
  async revoke(idOrToken: string): Promise<ProvisioningToken> {
    const rec = idOrToken.startsWith(TOKEN_PREFIX) ? await this.repo.findByHash(sha256(idOrToken)) : await this.repo.findById(idOrToken);
    if (!rec) throw new DomainError('not_found', 'no such provisioning token');
    await this.repo.revoke(rec.id);
    const after = await this.repo.findById(rec.id);
    return toView(after ?? rec);
  }

  agentCommand(token: string): string {
    // The token goes in the environment: process arguments are readable by every local user.
    return `PIFLEET_TOKEN=${token} npx pifleet-agent --hub ${this.config.publicUrl} --data-dir ./agent-data`;
  }
}

export function toView(r: TokenRecord): ProvisioningToken {
  return {
    id: r.id,
    fleet: r.fleet,
    prefix: r.prefix,
    maxUses: r.maxUses,
    uses: r.uses,
    expiresAt: iso(r.expiresAt),
    revokedAt: iso(r.revokedAt),
    createdAt: iso(r.createdAt),
    state: tokenState(r, new Date()),
  };
}
