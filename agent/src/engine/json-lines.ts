/**
 * The engine's streaming answers (events, pull and load progress) are JSON objects one per line.
 * This reader holds at most `maxLine` bytes of an unfinished line (a longer one is skipped to its
 * end) and skips lines that are not JSON, where docker-modem's followProgress keeps every object
 * of the stream and throws from its data handler on the first bad line.
 */
export const MAX_LINE = 256 * 1024;

export async function* jsonLines(stream: NodeJS.ReadableStream, maxLine = MAX_LINE): AsyncGenerator<Record<string, unknown>> {
  let buf = '';
  let skipping = false;
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    let text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (;;) {
      const nl = text.indexOf('\n');
      if (nl < 0) {
        if (!skipping) {
          buf += text;
          if (buf.length > maxLine) {
            buf = '';
            skipping = true;
          }
        }
        break;
      }
      const line = skipping ? '' : buf + text.slice(0, nl);
      buf = '';
      skipping = false;
      text = text.slice(nl + 1);
      const v = parse(line);
      if (v) yield v;
    }
  }
  const v = skipping ? undefined : parse(buf);
  if (v) yield v;
}

function parse(line: string): Record<string, unknown> | undefined {
  const t = line.trim();
  if (!t) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
