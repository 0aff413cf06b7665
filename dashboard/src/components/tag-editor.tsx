import { useState, type FormEvent } from 'react';

// Same rule as the protocol's TAG_PATTERN / MAX_TAGS.
const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:=-]{0,62}$/;
const MAX_TAGS = 32;

/** Chips with a remove button each and an input to add one; every change is saved at once. */
export function TagEditor({ tags, busy, onSave }: { tags: string[]; busy: boolean; onSave: (tags: string[]) => void }) {
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);

  const add = (e: FormEvent) => {
    e.preventDefault();
    const t = draft.trim();
    if (!t) return;
    if (!TAG_PATTERN.test(t)) return setError('Tags use letters, digits and . _ : = -, up to 63 characters.');
    if (tags.includes(t)) return setError(`Already tagged ${t}.`);
    if (tags.length >= MAX_TAGS) return setError(`At most ${MAX_TAGS} tags.`);
    setError(null);
    setDraft('');
    onSave([...tags, t]);
  };

  return (
    <div>
      <span className="chips">
        {tags.length === 0 && <span className="muted small">no tags</span>}
        {tags.map((t) => (
          <span key={t} className="chip">
            {t}
            <button type="button" className="chip-x" aria-label={`Remove tag ${t}`} disabled={busy} onClick={() => onSave(tags.filter((x) => x !== t))}>
              ×
            </button>
          </span>
        ))}
      </span>
      <form className="inline-form" onSubmit={add}>
        <input value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="add a tag, e.g. site=lab" aria-label="New tag" />
        <button type="submit" disabled={busy || !draft.trim()}>
          Add tag
        </button>
      </form>
      {error && <p className="error small">{error}</p>}
    </div>
  );
}
