// The model catalog: list, one model (by id or Hugging Face alias), add or delete a custom model.
import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ChangesData } from '../common/api-key.guard';
import { CreateModelDto } from './dto/create-model.dto';
import { ModelView } from './model-view';
import { ModelsService } from './models.service';

@ApiTags('models')
@Controller('models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiOperation({ summary: 'Every model of the catalog, custom ones included' })
  list(): ModelView[] {
    return this.models.list();
  }

  @Get(':id')
  @ApiOperation({ summary: 'One model by catalog id or URL-encoded Hugging Face id' })
  @ApiNotFoundResponse({ description: 'no model has this id or alias' })
  get(@Param('id') id: string): ModelView {
    return this.models.get(id);
  }

  @Get(':organisation/:name')
  @ApiOperation({ summary: 'One model by Hugging Face id, e.g. meta-llama/Meta-Llama-3-8B' })
  @ApiNotFoundResponse({ description: 'no model has this alias' })
  getByHuggingFaceId(
    @Param('organisation') organisation: string,
    @Param('name') name: string,
  ): ModelView {
    return this.models.get(`${organisation}/${name}`);
  }

  @Post()
  @ChangesData()
  @ApiOperation({ summary: 'Add a custom model from a Hugging Face config.json' })
  @ApiCreatedResponse({ description: 'the model as the catalog now serves it' })
  @ApiBadRequestResponse({ description: 'the config lacks or misstates fields; errors lists them' })
  @ApiConflictResponse({ description: 'the id is taken' })
  add(@Body() body: CreateModelDto): Promise<ModelView> {
    return this.models.add(body.id, body.config, body.name);
  }

  @Delete(':id')
  @ChangesData()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete a custom model (shipped catalog models cannot be deleted)' })
  @ApiNoContentResponse({ description: 'deleted, on every instance' })
  @ApiNotFoundResponse({ description: 'no custom model has this id' })
  @ApiConflictResponse({ description: 'the id names a shipped catalog model' })
  delete(@Param('id') id: string): Promise<void> {
    return this.models.delete(id);
  }
}
