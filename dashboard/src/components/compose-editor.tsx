/**
 * A plain textarea with line numbers beside it, so "line 12" in an error can be found; `jumpTo`
 * selects a line and scrolls it into view. No syntax highlighting: a code editor would multiply
 * the bundle for one field.
 */
import { forwardRef, useImperativeHandle, useRef } from 'react';

export interface ComposeEditorHandle {
  jumpTo(line: number): void;
}

export const ComposeEditor = forwardRef<ComposeEditorHandle, { value: string; onChange: (v: string) => void; disabled?: boolean }>(
  function ComposeEditor({ value, onChange, disabled }, ref) {
    const area = useRef<HTMLTextAreaElement>(null);
    const gutter = useRef<HTMLPreElement>(null);
    const lines = Math.max(1, value.split('\n').length);

    useImperativeHandle(ref, () => ({
      jumpTo(line: number) {
        const el = area.current;
        if (!el) return;
        const rows = el.value.split('\n');
        const n = Math.min(Math.max(1, line), rows.length);
        const start = rows.slice(0, n - 1).reduce((sum, r) => sum + r.length + 1, 0);
        el.focus();
        el.setSelectionRange(start, start + (rows[n - 1]?.length ?? 0));
        const lh = parseFloat(getComputedStyle(el).lineHeight) || 18;
        el.scrollTop = Math.max(0, (n - 3) * lh);
      },
    }));

    return (
      <div className="compose-editor">
        <pre className="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => i + 1).join('\n')}
        </pre>
        <textarea
          ref={area}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          onScroll={(e) => gutter.current && (gutter.current.scrollTop = e.currentTarget.scrollTop)}
          spellCheck={false}
          wrap="off"
          rows={18}
          disabled={disabled}
          aria-label="Compose file"
          data-testid="compose-text"
          placeholder={'name: web\nservices:\n  web:\n    image: nginx:1.27\n    ports: ["8080:80"]\n    restart: always'}
        />
      </div>
    );
  },
);
