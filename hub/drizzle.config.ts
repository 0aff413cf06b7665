import { defineConfig } from 'drizzle-kit';

// Generates the committed SQL migrations under hub/drizzle (run: npm run db:generate -w @pifleet/hub).
// The same migrations are applied at boot on PGlite and on PostgreSQL.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
