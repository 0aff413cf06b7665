import { dateTime } from '../format';
import type { ProvisioningToken } from '../types';

export function TokenTable({ tokens, onRevoke }: { tokens: ProvisioningToken[]; onRevoke: (t: ProvisioningToken) => void }) {
  const sorted = [...tokens].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return (
    <table data-testid="token-table">
      <thead>
        <tr>
          <th>Fleet</th>
          <th>Prefix</th>
          <th className="num">Uses</th>
          <th>Expires</th>
          <th>Created</th>
          <th>State</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {sorted.map((t) => (
          <tr key={t.id} data-testid={`token-row-${t.prefix}`}>
            <td>{t.fleet}</td>
            <td className="mono">{t.prefix}…</td>
            <td className="num">
              {t.uses} / {t.maxUses}
            </td>
            <td>{dateTime(t.expiresAt)}</td>
            <td>{dateTime(t.createdAt)}</td>
            <td>
              <span className={`badge badge-token-${t.state}`}>{t.state}</span>
            </td>
            <td>
              {t.state === 'active' && (
                <button type="button" className="danger small" onClick={() => confirm(`Revoke token ${t.prefix}… for fleet ${t.fleet}? Devices not yet enrolled with it will be refused.`) && onRevoke(t)}>
                  Revoke
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
