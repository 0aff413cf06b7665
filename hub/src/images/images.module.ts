import { Module } from '@nestjs/common';
import { DeviceAuth, DeviceAuthGuard } from './device-auth.guard.js';
import { ImagesController } from './images.controller.js';
import { ImagesRepository } from './images.repository.js';
import { ImagesService } from './images.service.js';

/**
 * Image bundles for devices without a registry: operators upload `docker save` archives, the hub
 * keeps them uncompressed under its data dir with a sha256 per chunk, and devices download them
 * chunk by chunk with their own credentials. ImagesRepository is exported so the apps module can
 * resolve a bundle a compose file names.
 */
@Module({
  controllers: [ImagesController],
  providers: [ImagesRepository, ImagesService, DeviceAuth, DeviceAuthGuard],
  exports: [ImagesRepository],
})
export class ImagesModule {}
