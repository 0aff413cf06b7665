import { useState } from 'react';
import type { CreatedToken } from '../types';

/** Shown once after creation: the hub keeps only a hash, so this is the only chance to copy it. */
export function CreatedTokenPanel({ token, onDismiss }: { token: CreatedToken; onDismiss: () => void }) {
  return (
    <section className="panel created" data-testid="created-token">
      <h2>Token created for fleet “{token.fleet}”</h2>
      <p>
        <strong>Copy it now</strong> — the secret is not shown again.
      </p>
      <Copyable label="Run this on the Pi" value={token.agentCommand} testid="agent-command" />
      <Copyable label="Token" value={token.token} testid="token-secret" />
      <button type="button" onClick={onDismiss}>
        Done
      </button>
    </section>
  );
}

function Copyable({ label, value, testid }: { label: string; value: string; testid: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setState('copied');
    } catch {
      // The clipboard API needs a secure context (https or localhost); the text stays selectable.
      setState('failed');
    }
    setTimeout(() => setState('idle'), 2000);
  };
  return (
    <div className="copyable">
      <div className="small muted">{label}</div>
      <div className="copy-row">
        <code data-testid={testid}>{value}</code>
        <button type="button" onClick={() => void copy()}>
          {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy manually' : 'Copy'}
        </button>
      </div>
    </div>
  );
}
