// Parses a Mermaid diagram from stdin with the real Mermaid parser (the `mermaid`
// package, with jsdom standing in for the browser DOM that its sanitizer expects).
// Exit 0 and print the diagram type when it parses; exit 1 with Mermaid's error
// otherwise. Why not `@mermaid-js/parser`: it has grammars for pie, gitGraph,
// packet, architecture… but not for flowcharts, which stay in `mermaid` itself.
// Used by tests/status.rs; install with `npm ci --prefix tests/oracles-graph`.
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;

const { default: mermaid } = await import('mermaid');

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const text = Buffer.concat(chunks).toString('utf8');

try {
  const result = await mermaid.parse(text);
  console.log(result.diagramType);
} catch (err) {
  console.error(`mermaid parse error: ${err?.message ?? err}`);
  process.exit(1);
}
