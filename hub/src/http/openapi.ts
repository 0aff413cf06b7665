import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** OpenAPI UI at /api/docs and JSON at /api/docs-json (public, served outside the auth guard). */
export function setupOpenApi(app: INestApplication, version: string): void {
  const config = new DocumentBuilder()
    .setTitle('pifleet hub API')
    .setDescription('Devices, enrollment, provisioning tokens and operators. Errors are `{code, message}`.')
    .setVersion(version)
    .addBearerAuth()
    .addCookieAuth('pifleet_session')
    .build();
  const doc = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('api/docs', app, doc, { jsonDocumentUrl: 'api/docs-json' });
}
