/**
 * Test support (not a test): splits the text read so far from an SSE response (`/api/events`)
 * into the named events it completes and the unfinished rest, which the next read continues.
 */
export function takeSseEvents<D = unknown>(buf: string): { events: { event: string; data: D }[]; rest: string } {
  const blocks = buf.split('\n\n');
  const rest = blocks.pop() ?? '';
  const events: { event: string; data: D }[] = [];
  for (const b of blocks) {
    const name = /^event: (.+)$/m.exec(b)?.[1];
    const data = /^data: (.+)$/m.exec(b)?.[1];
    if (name && data) events.push({ event: name, data: JSON.parse(data) as D });
  }
  return { events, rest };
}
