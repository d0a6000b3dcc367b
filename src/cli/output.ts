/** What commands print: a table for people (the default) or JSON for scripts (`--output json`). */

export type OutputFormat = 'table' | 'json';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal: progress may rewrite its line. */
  errIsTty: boolean;
}

/** Rows as aligned columns under a header; cells are printed as they are, `-` for empty. */
export function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [header, ...rows.map((row) => row.map(cell))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** One record as FIELD/VALUE rows, in its own key order. */
export const fieldTable = (value: object): string => table(['FIELD', 'VALUE'], Object.entries(value));

export const json = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';
