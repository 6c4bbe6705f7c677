#!/usr/bin/env node
// Plain JavaScript that any Node can parse, so an old Node gets a sentence, not a syntax error.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `warrant needs Node.js 24 or newer (this is ${process.versions.node}); ` +
      `run it as 'npx warrant' inside the project, which brings Node 24 (npm ci installs it)\n`,
  );
  process.exit(2);
}
const { existsSync } = await import('node:fs');
const source = new URL('../src/cli/main.ts', import.meta.url);
// A checkout runs the TypeScript sources directly; a published package ships only the compiled dist/.
const { main } = await import(existsSync(source) ? source.href : new URL('../dist/cli/main.js', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
