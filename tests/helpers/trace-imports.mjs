// `node --import ./tests/helpers/trace-imports.mjs …`: records the modules a process resolves.
import { register } from 'node:module';
register('./trace-hooks.mjs', import.meta.url);
