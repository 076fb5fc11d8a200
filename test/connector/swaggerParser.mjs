// swagger-parser 13 is ESM underneath (json-schema-ref-parser), which Jest's CommonJS runtime
// cannot load: the tests run it here, in a process of its own, and read its answer as JSON.
// Usage: node swaggerParser.mjs <validate|dereference> <file>
import SwaggerParser from '@apidevtools/swagger-parser';

const [verb, file] = process.argv.slice(2);
try {
  const api = verb === 'validate' ? await SwaggerParser.validate(file) : await SwaggerParser.dereference(file);
  process.stdout.write(JSON.stringify({ ok: true, api }));
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(err?.message ?? err) }));
}
