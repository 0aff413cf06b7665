import type { MouseEvent } from 'react';

/** Tags as chips; when `onPick` is given a click filters by that tag instead of opening the row. */
export function TagChips({ tags, onPick, active }: { tags: string[]; onPick?: (tag: string) => void; active?: string }) {
  if (tags.length === 0) return <span className="muted small">no tags</span>;
  return (
    <span className="chips">
      {tags.map((t) =>
        onPick ? (
          <button
            key={t}
            type="button"
            className={`chip chip-button${t === active ? ' chip-active' : ''}`}
            title={`Show only devices tagged ${t}`}
            onClick={(e: MouseEvent) => {
              e.stopPropagation();
              onPick(t);
            }}
          >
            {t}
          </button>
        ) : (
          <span key={t} className="chip">
            {t}
          </span>
        ),
      )}
    </span>
  );
}
