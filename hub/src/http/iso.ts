/** Timestamps leave the hub as ISO 8601 strings (contract.ts). */
export function iso(d: Date): string;
export function iso(d: Date | null): string | null;
export function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}
