// The GPU catalog: list and one card.
import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { GpusService, GpuView } from './gpus.service';

@ApiTags('gpus')
@Controller('gpus')
export class GpusController {
  constructor(private readonly gpus: GpusService) {}

  @Get()
  @ApiOperation({ summary: 'Every accelerator of the catalog' })
  list(): GpuView[] {
    return this.gpus.list();
  }

  @Get(':id')
  @ApiOperation({ summary: 'One accelerator by catalog id' })
  @ApiNotFoundResponse({ description: 'no GPU has this id' })
  get(@Param('id') id: string): GpuView {
    return this.gpus.get(id);
  }
}
