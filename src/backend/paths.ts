import { fileURLToPath } from 'node:url';

/** The package root (src/backend and dist/backend are both two levels down). */
export const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
