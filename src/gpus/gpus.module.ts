import { Module } from '@nestjs/common';
import { GpusController } from './gpus.controller';
import { GpusService } from './gpus.service';

@Module({ controllers: [GpusController], providers: [GpusService] })
export class GpusModule {}
