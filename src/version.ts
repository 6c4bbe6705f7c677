import { readFileSync } from 'node:fs';

/** warrant's own release, recorded beside each migration it applies. */
export const WARRANT_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
