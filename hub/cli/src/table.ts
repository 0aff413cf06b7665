/**
 * Plain-text tables for humans: columns padded with spaces, two spaces apart, no colours or
 * box characters, so output survives `less`, `grep` and copy-paste. Scripts use `--json`.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - width(c))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map((r) => line(headers.map((_, i) => sanitize(r[i] ?? ''))))].join('\n') + '\n';
}

/** Key/value block for `device show`: aligned labels, one per line. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const w = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${(k + ':').padEnd(w + 1)}  ${sanitize(v)}`).join('\n') + '\n';
}

/** Device names and info come from devices; strip control characters so they cannot drive the terminal. */
export function sanitize(cell: string): string {
  // eslint-disable-next-line no-control-regex
  return cell.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function width(s: string): number {
  return [...s].length;
}
