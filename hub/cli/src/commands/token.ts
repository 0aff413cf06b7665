import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { parseDuration, relativeTime } from '../duration.js';
import { CreatedTokenSchema, ProvisioningTokenSchema } from '../schemas.js';
import { authedClient, type Io } from '../session.js';
import { renderTable } from '../table.js';

interface TokenOptions {
  hub?: string;
  json?: boolean;
  fleet?: string;
  uses?: number;
  ttl?: number;
}

export function parseUses(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('must be a whole number of at least 1');
  }
  return n;
}

export function parseTtl(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function registerToken(program: Command, io: Io): void {
  const token = program
    .command('token')
    .summary('create, list or revoke provisioning tokens (admin)')
    .description('Provisioning tokens let new devices enroll into a fleet. Admin role required.');

  token
    .command('create')
    .description(
      'Create a provisioning token and print it with the command that starts an agent using it. ' +
        'The secret is shown only now. --json prints ' +
        '{"token", "id", "fleet", "expiresAt", "maxUses", "agentCommand"}.',
    )
    .requiredOption('--fleet <name>', 'fleet the devices join')
    .option('--uses <n>', 'how many devices may enroll with it (hub default: 1)', parseUses)
    .option('--ttl <duration>', 'lifetime, e.g. 30m, 1h, 7d (hub default: 24h)', parseTtl)
    .option('--json', 'print JSON for scripts')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  pifleet token create --fleet default\n' +
        '  pifleet token create --fleet lab --uses 20 --ttl 7d\n' +
        "  TOKEN=$(pifleet token create --fleet default --ttl 1h --json | jq -r .token)",
    )
    .action(async (_o: TokenOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<TokenOptions>();
      const client = await authedClient(io, opts.hub);
      const t = await client.request('POST', '/api/tokens', CreatedTokenSchema, {
        fleet: opts.fleet,
        ...(opts.uses !== undefined ? { maxUses: opts.uses } : {}),
        ...(opts.ttl !== undefined ? { ttlSeconds: opts.ttl } : {}),
      });
      if (opts.json) {
        const out = { token: t.token, id: t.id, fleet: t.fleet, expiresAt: t.expiresAt, maxUses: t.maxUses, agentCommand: t.agentCommand };
        io.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      io.stdout.write(
        `Token:   ${t.token}\n` +
          `ID:      ${t.id}\n` +
          `Fleet:   ${t.fleet}\n` +
          `Uses:    ${t.maxUses}\n` +
          `Expires: ${t.expiresAt} (${relativeTime(t.expiresAt, io.now())})\n\n` +
          `The token is shown only once. Start an agent with it:\n\n  ${t.agentCommand}\n`,
      );
    });

  token
    .command('list')
    .description(
      'List provisioning tokens (never their secrets; PREFIX tells them apart). --json prints an array of ' +
        '{id, fleet, prefix, maxUses, uses, expiresAt, revokedAt, createdAt, state}; state is ' +
        'active, expired, exhausted or revoked.',
    )
    .option('--json', 'print JSON for scripts')
    .addHelpText('after', '\nExamples:\n  pifleet token list\n  pifleet token list --json | jq \'.[] | select(.state == "active")\'')
    .action(async (_o: TokenOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<TokenOptions>();
      const client = await authedClient(io, opts.hub);
      const tokens = await client.request('GET', '/api/tokens', z.array(ProvisioningTokenSchema));
      if (opts.json) {
        io.stdout.write(JSON.stringify(tokens, null, 2) + '\n');
      } else if (tokens.length === 0) {
        io.stdout.write('No tokens.\n');
      } else {
        const now = io.now();
        io.stdout.write(
          renderTable(
            ['ID', 'PREFIX', 'FLEET', 'STATE', 'USES', 'EXPIRES', 'CREATED'],
            tokens.map((t) => [t.id, t.prefix, t.fleet, t.state, `${t.uses}/${t.maxUses}`, relativeTime(t.expiresAt, now), relativeTime(t.createdAt, now)]),
          ),
        );
      }
    });

  token
    .command('revoke')
    .description('Revoke a provisioning token, named by its id or the token itself. Devices already enrolled with it stay.')
    .argument('<token-or-id>', 'token id (from `token list`) or the token secret')
    .option('--json', 'print the revoked token record as JSON')
    .addHelpText('after', '\nExample:\n  pifleet token revoke 01j9x3k2m4')
    .action(async (ref: string, _o: TokenOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals<TokenOptions>();
      const client = await authedClient(io, opts.hub);
      const t = await client.request('DELETE', `/api/tokens/${encodeURIComponent(ref)}`, ProvisioningTokenSchema);
      io.stdout.write(opts.json ? JSON.stringify(t, null, 2) + '\n' : `Revoked token ${t.id} (${t.prefix}…, fleet ${t.fleet}).\n`);
    });
}
