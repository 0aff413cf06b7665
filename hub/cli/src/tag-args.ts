import { UsageError } from './errors.js';

/**
 * `device tag` arguments: `+a` or `a` adds, `-b` removes; with `--clear` the tags listed to add
 * become the whole set. Tags themselves never start with + or - (the hub's TAG_PATTERN starts
 * with a letter or digit), so the prefixes are unambiguous.
 */
export type TagChange = { tags: string[] } | { addTags: string[]; removeTags: string[] };

export function parseTagArgs(args: readonly string[], clear: boolean): TagChange {
  const add: string[] = [];
  const remove: string[] = [];
  for (const arg of args) {
    const sign = arg[0];
    const name = sign === '+' || sign === '-' ? arg.slice(1) : arg;
    if (name === '') throw new UsageError(`empty tag in '${arg}'`);
    if (sign === '-') remove.push(name);
    else add.push(name);
  }
  const both = add.filter((t) => remove.includes(t));
  if (both.length > 0) throw new UsageError(`tag '${both[0]}' is both added and removed`);
  if (clear) {
    if (remove.length > 0) throw new UsageError('--clear replaces all tags; -tag makes no sense with it');
    return { tags: dedupe(add) };
  }
  if (add.length === 0 && remove.length === 0) throw new UsageError('nothing to change: give +tag, -tag or --clear');
  return { addTags: dedupe(add), removeTags: dedupe(remove) };
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}
