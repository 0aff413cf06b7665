import { createInterface } from 'node:readline/promises';
import { CliError, EXIT, UsageError } from './errors.js';

type Input = NodeJS.ReadStream | NodeJS.ReadableStream;
type Output = { write(s: string): unknown };

/** Enough for any password; a bound so `cat /dev/zero | pifleet login --password-stdin` fails fast. */
const MAX_STDIN_BYTES = 64 * 1024;

export function isTty(input: Input): boolean {
  return 'isTTY' in input && input.isTTY === true;
}

/** Reads all of stdin for `--password-stdin`, dropping the one trailing newline `echo` adds. */
export async function readSecretFromStdin(input: Input): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_STDIN_BYTES) throw new UsageError('password on stdin is too long');
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (text === '') throw new UsageError('--password-stdin: stdin was empty');
  return text;
}

/**
 * Prompts on the terminal without echoing what is typed (raw mode, so the password never
 * reaches the screen or scrollback). Ctrl-C aborts with exit code 130 like a shell would.
 */
export async function promptHidden(input: NodeJS.ReadStream, output: Output, question: string): Promise<string> {
  // Raw mode before the prompt: anything typed once the prompt is visible must not be echoed.
  input.setRawMode(true);
  output.write(question);
  input.resume();
  input.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (s: string): void => {
        for (const ch of s) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') {
            input.off('data', onData);
            resolve(value);
            return;
          }
          if (ch === '\u0003') {
            input.off('data', onData);
            reject(new CliError('cancelled', EXIT.cancelled));
            return;
          }
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else if (ch >= ' ') value += ch;
        }
      };
      input.on('data', onData);
    });
  } finally {
    input.setRawMode(false);
    input.pause();
    output.write('\n');
  }
}

/** Asks a question with visible echo (user names). */
export async function promptLine(input: Input, output: Output, question: string): Promise<string> {
  const rl = createInterface({ input, output: output as NodeJS.WritableStream, terminal: false });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** `[y/N]` confirmation; anything but y/yes is a no. */
export async function confirm(input: Input, output: Output, question: string): Promise<boolean> {
  const answer = await promptLine(input, output, `${question} [y/N] `);
  return /^y(es)?$/i.test(answer);
}
