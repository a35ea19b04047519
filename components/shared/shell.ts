/** POSIX shell quoting for generated scripts: one single-quoted word, whatever the text holds. */
export function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}
