/**
 * Splits a `command:` / `entrypoint:` string into words the way Compose does (POSIX shell word
 * rules, no expansion): blanks separate words, '...' is literal, "..." keeps \" \\ \$ \` escapes,
 * a backslash outside quotes escapes the next character. The words go straight to exec, with no
 * shell, so unquoted shell syntax (`;`, `|`, `&`, `<`, `>`, backticks, `$(`) is refused instead of
 * being passed through as an argument or cut off: such a command belongs in `["sh", "-c", "..."]`.
 */
export type SplitResult = { ok: true; words: string[] } | { ok: false; message: string };

const OPERATORS = new Set([';', '|', '&', '<', '>', '`']);

export function shellSplit(s: string): SplitResult {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return { ok: false, message: 'unterminated single quote' };
      word += s.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const d = s[i];
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < s.length && '$`"\\\n'.includes(s[i + 1])) {
          if (s[i + 1] !== '\n') word += s[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      if (!closed) return { ok: false, message: 'unterminated double quote' };
      continue;
    }
    if (c === '\\') {
      if (i + 1 < s.length && s[i + 1] !== '\n') word += s[i + 1];
      else if (i + 1 >= s.length) word += '\\';
      i += 2;
      continue;
    }
    if (OPERATORS.has(c) || (c === '$' && s[i + 1] === '(')) {
      const what = c === '$' ? '$(' : c;
      return { ok: false, message: `contains shell syntax ${JSON.stringify(what)} but runs without a shell; write it as a list, e.g. ["sh", "-c", "..."]` };
    }
    word += c;
    i++;
  }
  if (inWord) words.push(word);
  return { ok: true, words };
}
