// Copies the dashboard's static files (HTML, CSS) next to its compiled scripts in dist/web.
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const from = 'web/static';
const to = 'dist/web';
mkdirSync(to, { recursive: true });
if (existsSync(from)) {
  for (const name of readdirSync(from)) cpSync(join(from, name), join(to, name), { recursive: true });
}
