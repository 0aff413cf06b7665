/** What a release does (or would do, on a dry run) to each service of each affected device. */
import type { PlanEntry } from '../types';

const ORDER: PlanEntry['change'][] = ['create', 'recreate', 'remove', 'unchanged'];

export function PlanTable({ plan }: { plan: PlanEntry[] }) {
  if (plan.length === 0) return <p className="muted" data-testid="plan-empty">No device is affected (is there a device in this scope?).</p>;
  const counts = ORDER.map((c) => [c, plan.filter((p) => p.change === c).length] as const).filter(([, n]) => n > 0);
  return (
    <>
      <p className="plan-summary" data-testid="plan-summary">
        {counts.map(([c, n]) => (
          <span key={c} className={`badge plan-${c}`}>
            {n} {c}
          </span>
        ))}
      </p>
      <table data-testid="plan-table">
        <thead>
          <tr>
            <th>Device</th>
            <th>App</th>
            <th>Service</th>
            <th>Change</th>
            <th>Fields that differ</th>
          </tr>
        </thead>
        <tbody>
          {plan.map((p) => (
            <tr key={`${p.device}/${p.app}/${p.service}`} data-testid="plan-row">
              <td>{p.device}</td>
              <td>{p.app}</td>
              <td>{p.service}</td>
              <td>
                <span className={`badge plan-${p.change}`}>{p.change}</span>
              </td>
              <td className="mono small">{p.fields?.join(', ') || ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
