/** Each problem the hub found in a compose file, with its line (a link into the editor) and path. */
import type { ComposeError } from '../types';

export function ComposeErrors({ errors, onLine }: { errors: ComposeError[]; onLine: (line: number) => void }) {
  return (
    <div className="compose-errors" role="alert" data-testid="compose-errors">
      <strong>
        The compose file has {errors.length} problem{errors.length === 1 ? '' : 's'}:
      </strong>
      <ul>
        {errors.map((e, i) => (
          <li key={i} data-testid="compose-error">
            {e.line !== null ? (
              <button type="button" className="link mono" onClick={() => onLine(e.line!)} data-testid="compose-error-line">
                line {e.line}
              </button>
            ) : (
              <span className="muted">no line</span>
            )}{' '}
            {e.path && <code className="compose-path">{e.path}</code>} {e.message}
          </li>
        ))}
      </ul>
    </div>
  );
}
